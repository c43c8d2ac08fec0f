import type { Destination } from '../destination.interface.js';

/** The relay policy a destination may override: `maxAttempts`, `backoff`, `circuitBreaker`. */
export type DestinationOverrides = Pick<Destination, 'maxAttempts' | 'backoff' | 'circuitBreaker'>;

/** Option keys every built-in destination accepts besides its own. */
export const OVERRIDE_KEYS = ['maxAttempts', 'backoff', 'circuitBreaker'] as const;

/**
 * Copies the overrides that are set; the relay validates them with the rest of the module options
 * (as `destinations.<name>.maxAttempts` …), so a bad value fails at bootstrap naming the field.
 */
export function overridesOf(options: DestinationOverrides): DestinationOverrides {
  const o: { -readonly [K in keyof DestinationOverrides]: DestinationOverrides[K] } = {};
  if (options.maxAttempts !== undefined) o.maxAttempts = options.maxAttempts;
  if (options.backoff !== undefined) o.backoff = options.backoff;
  if (options.circuitBreaker !== undefined) o.circuitBreaker = options.circuitBreaker;
  return o;
}

import type { ResolvedBackoff } from '../options/resolved-options.interface.js';

/**
 * Delay before retry number `attempt` (1 = the first retry): `initialMs * factor^(attempt-1)`,
 * capped at `maxMs`, then jittered. Full jitter spreads a burst of failures uniformly over
 * [0, delay], which keeps retries of a recovering destination from arriving in waves.
 */
export function backoffDelay(attempt: number, policy: ResolvedBackoff, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  // Cap before multiplying out: factor^exponent overflows to Infinity long before maxAttempts.
  const raw = policy.initialMs * Math.pow(policy.factor, exponent);
  const delay = Math.min(policy.maxMs, Number.isFinite(raw) ? raw : policy.maxMs);
  switch (policy.jitter) {
    case 'full':
      return Math.floor(random() * delay);
    case 'equal':
      return Math.floor(delay / 2 + random() * (delay / 2));
    case 'none':
      return Math.floor(delay);
  }
}

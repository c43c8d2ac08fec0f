import type { BackoffOptions, CircuitBreakerOptions } from '../options/flowbus-options.interface.js';

/** A message as a destination receives it. */
export interface DeliveryMessage {
  /** Stable id (uuid); use it to deduplicate on the receiving side. */
  readonly id: string;
  readonly destination: string;
  /** For `local`: the durable subscriber (handler or saga) the row is for; '' otherwise. */
  readonly subscriber: string;
  readonly type: string;
  readonly key: string | null;
  readonly payload: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** Deliveries tried before this one. */
  readonly attempts: number;
  readonly createdAt: Date;
}

/**
 * A named delivery target of the relay. `deliver` resolves when the receiver has the message and
 * rejects otherwise; reject with `NonRetryableError` when a retry cannot help.
 *
 * @example
 * const audit: Destination = {
 *   async deliver(message) { await auditClient.write(message.id, message.payload); },
 *   maxAttempts: 5,
 * };
 * FlowbusModule.forRoot({ destinations: { audit } });
 */
export interface Destination {
  deliver(message: DeliveryMessage): Promise<void>;
  /** Overrides `relay.maxAttempts` for this destination. */
  readonly maxAttempts?: number;
  /** Overrides `relay.backoff` for this destination (merged field by field). */
  readonly backoff?: BackoffOptions;
  /** Overrides the default breaker (merged field by field); `false` turns it off. */
  readonly circuitBreaker?: CircuitBreakerOptions | false;
  /** Opens connections; called once when the relay starts. */
  init?(): Promise<void>;
  /** Closes connections; called once on shutdown, after the relay stopped. */
  close?(): Promise<void>;
}

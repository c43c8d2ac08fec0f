/** A message to write into the outbox with `OutboxService.enqueue`. */
export interface OutboxMessage {
  /** Name of a configured destination, or `local` for the durable subscribers of `type` (handlers and saga steps, in any app). */
  destination: string;
  /** Message type (an event type name for events). */
  type: string;
  /** JSON-serialisable body. */
  payload: unknown;
  /** Per-key FIFO: not delivered while an older undelivered message with this destination and key exists. */
  key?: string;
  /** String headers passed to the destination. */
  headers?: Record<string, string>;
  /** Not delivered before this time. @default now */
  availableAt?: Date;
  /** Message id (uuid); give one to make the enqueue idempotent on your side. @default a new time-ordered (version 7) uuid */
  id?: string;
}

/** Options of `OutboxService.publish`. */
export interface OutboxPublishOptions {
  key?: string;
  headers?: Record<string, string>;
  availableAt?: Date;
}

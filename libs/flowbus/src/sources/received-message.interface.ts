/**
 * A message received from a source, as Flowbus stores it: what a source's `map(raw)` returns.
 * Messages written by Flowbus's own `amqpDestination` / `natsDestination` map with no `map` given.
 */
export interface ReceivedMessage {
  /** The producer's message id; a message whose id this source already received is a duplicate. */
  id: string;
  /** Message type: the durable handlers and saga steps of this type receive it. */
  type: string;
  /** Per-key FIFO key. */
  key?: string;
  /** JSON-serialisable body. */
  payload: unknown;
  /** String headers, kept with the stored message. */
  headers?: Record<string, string>;
}

import type { DeliveryMessage } from '../destination.interface.js';
import type { DestinationOverrides } from './destination-overrides.js';

/**
 * Options of `natsDestination()` (NATS JetStream, through the `nats` package).
 *
 * Each message is published to JetStream with `Nats-Msg-Id` = message id, so a redelivery within
 * the stream's duplicate window (`duplicate_window`, 2 minutes by default) is stored once; later
 * redeliveries are not caught by JetStream, so consumers should still deduplicate on the id. The body is the payload as JSON; headers are the
 * message headers plus `Content-Type: application/json`, `Flowbus-Type` and, when the message has
 * a key, `Flowbus-Key`. A delivery succeeds once JetStream acknowledged it (PubAck).
 */
export interface NatsDestinationOptions extends DestinationOverrides {
  /** Server URL(s), e.g. `nats://localhost:4222`. */
  servers: string | string[];
  /** Subject of a message, or a function of the message (no wildcards). */
  subject: string | ((message: DeliveryMessage) => string);
  /**
   * JetStream stream that must store the messages. When set, the stream is created on connect if
   * it does not exist (file storage, on `streamSubjects`), and each publish asks the server to
   * check the message lands in it. An existing stream is left as it is.
   * @default undefined (any stream whose subjects match)
   */
  stream?: string;
  /**
   * Subjects of the stream Flowbus creates. Required with `stream` when `subject` is a function.
   * @default [subject]
   */
  streamSubjects?: string[];
  /**
   * How long to wait for JetStream's acknowledgement before the delivery fails and is retried.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Further `nats` connection options (credentials, TLS, name …). Flowbus sets
   * `maxReconnectAttempts: -1` (reconnect forever) unless you give it.
   * @default {}
   */
  connectOptions?: Record<string, unknown>;
}

import type { RawNatsMessage } from './raw-message.interface.js';
import type { ReceivedMessage } from './received-message.interface.js';

/**
 * Options of `natsSource()` (NATS JetStream, through the `nats` package).
 *
 * The source pulls from a durable consumer of `stream` (created when missing, explicit acks) and
 * acknowledges a message only after the transaction that stored it committed. Instances with the
 * same `durable` share its messages. A message that cannot be mapped, or whose type no durable
 * subscriber handles, is terminated (`term`): JetStream stops redelivering it and publishes a
 * `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.<stream>.<durable>` advisory; the message stays in
 * the stream (limits retention).
 */
export interface NatsSourceOptions {
  /** Server URL(s), e.g. `nats://localhost:4222`. */
  servers: string | string[];
  /** Stream to consume; it must exist (a `natsDestination` with `stream` creates it). */
  stream: string;
  /** Name of the durable pull consumer. */
  durable: string;
  /** Subjects the consumer takes, when Flowbus creates it (more than one needs NATS server 2.10). @default the whole stream */
  filterSubjects?: string[];
  /** The consumer's `max_ack_pending` when Flowbus creates it: messages out unacknowledged at once. @default 1000 */
  maxAckPending?: number;
  /** The consumer's `ack_wait` when Flowbus creates it. @default 30000 */
  ackWaitMs?: number;
  /** Messages stored per transaction. @default 100 */
  batchSize?: number;
  /** See `AmqpSourceOptions.maxBacklog`. @default 10000 */
  maxBacklog?: number;
  /**
   * Maps a message of another producer: return `{ id, type, key?, payload, headers? }`, `null` to
   * drop it, or throw to terminate it. @default the format of `natsDestination`
   */
  map?: (raw: RawNatsMessage) => ReceivedMessage | null;
  /** Further `nats` connection options; Flowbus sets `maxReconnectAttempts: -1` unless given. @default {} */
  connectOptions?: Record<string, unknown>;
}

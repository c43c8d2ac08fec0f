import type { RawAmqpMessage } from './raw-message.interface.js';
import type { ReceivedMessage } from './received-message.interface.js';

/** A binding of the source's queue to an exchange. */
export interface AmqpSourceBinding {
  /** Exchange to bind to (declared durable when `assertTopology`). */
  exchange: string;
  /** Binding key. @default '#' (everything, on a topic exchange) */
  routingKey?: string;
  /** Type of the exchange when Flowbus declares it. @default 'topic' */
  exchangeType?: 'topic' | 'direct' | 'fanout' | 'headers';
}

/**
 * Options of `amqpSource()` (RabbitMQ and other AMQP 0-9-1 brokers, through `amqplib`).
 *
 * The source consumes `queue` with manual acknowledgements: a message is acknowledged only after
 * the transaction that stored it committed. A message that cannot be mapped, or whose type no
 * durable subscriber handles, is rejected (`nack`, not requeued) to the queue's dead-letter
 * exchange — by default a queue `<queue>.dead-letter` that Flowbus declares.
 */
export interface AmqpSourceOptions {
  /** Broker URL, `amqp://user:pass@host:5672/vhost` or `amqps://…`. */
  url: string;
  /** Queue to consume (declared durable when `assertTopology`). Share it between instances to compete. */
  queue: string;
  /** Exchanges the queue is bound to. @default [] */
  bindings?: AmqpSourceBinding[];
  /** Unacknowledged messages the broker sends ahead (`basic.qos`). @default 200 */
  prefetch?: number;
  /** Messages stored per transaction. @default half of `prefetch` (the next batch arrives while one commits) */
  batchSize?: number;
  /**
   * Queue that rejected messages go to, declared with the queue (`x-dead-letter-exchange: ''`,
   * `x-dead-letter-routing-key: <this>`). `false`: leave the queue's arguments alone (a policy of
   * your broker decides; without one, RabbitMQ drops rejected messages).
   * @default `${queue}.dead-letter`
   */
  deadLetterQueue?: string | false;
  /** Declare the queue, the dead-letter queue, the exchanges and the bindings on connect. @default true */
  assertTopology?: boolean;
  /**
   * Stored messages not yet delivered to their local subscribers past which the source stops
   * taking messages from the broker (they wait there, unacknowledged) until half of it drained.
   * @default 10000
   */
  maxBacklog?: number;
  /**
   * Maps a message of another producer: return `{ id, type, key?, payload, headers? }`, `null` to
   * drop it, or throw to reject it to the dead-letter queue. @default the format of `amqpDestination`
   */
  map?: (raw: RawAmqpMessage) => ReceivedMessage | null;
  /** Passed to amqplib's `connect` as socket options (TLS, timeouts …). @default {} */
  socketOptions?: Record<string, unknown>;
}

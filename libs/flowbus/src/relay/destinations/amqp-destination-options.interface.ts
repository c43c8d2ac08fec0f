import type { DeliveryMessage } from '../destination.interface.js';
import type { DestinationOverrides } from './destination-overrides.js';

/**
 * Options of `amqpDestination()` (RabbitMQ and other AMQP 0-9-1 brokers, through `amqplib`).
 *
 * Each message is published to `exchange` as a persistent message whose body is the payload as
 * JSON, with `messageId` = message id (deduplicate on it), `type` = message type,
 * `contentType: application/json`, `timestamp` = creation time (seconds) and `headers` = the
 * message headers plus `flowbus-key` when the message has a key. A delivery succeeds only once the
 * broker confirmed the message (publisher confirms).
 */
export interface AmqpDestinationOptions extends DestinationOverrides {
  /** Broker URL, `amqp://user:pass@host:5672/vhost` or `amqps://…`. */
  url: string;
  /** Exchange to publish to; `''` is the default exchange (routing key = queue name). */
  exchange: string;
  /**
   * Routing key of a message, or a function of the message.
   * @default the message type
   */
  routingKey?: string | ((message: DeliveryMessage) => string);
  /**
   * Type of the exchange when Flowbus declares it.
   * @default 'topic'
   */
  exchangeType?: 'topic' | 'direct' | 'fanout' | 'headers';
  /**
   * Declare the exchange (durable) on connect. Turn it off when the broker's topology is managed
   * elsewhere and this app may not declare it.
   * @default true
   */
  assertExchange?: boolean;
  /**
   * Publish with the `mandatory` flag: a message no queue is bound for is returned by the broker
   * and the delivery fails (and is retried) instead of the message being dropped.
   * @default false
   */
  mandatory?: boolean;
  /** Passed to amqplib's `connect` as socket options (TLS certificates, timeouts …). @default {} */
  socketOptions?: Record<string, unknown>;
}

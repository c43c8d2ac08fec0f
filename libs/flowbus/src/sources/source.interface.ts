import type { Logger } from '@nestjs/common';
import type { ReceivedMessage } from './received-message.interface.js';

/**
 * A message a source took from its broker and holds, unacknowledged, until its batch is
 * committed. @internal
 */
export interface Inbound {
  /** The message as Flowbus stores it, `null` to drop it (acknowledged); throws when it cannot be mapped. */
  map(): ReceivedMessage | null;
  /** Acknowledges it to the broker: called only after the batch holding it committed. */
  ack(): void;
  /** Hands it to the broker's dead-letter mechanism (RabbitMQ: reject to the DLX; NATS: term). */
  reject(reason: string): void;
  /** Tells the broker the message is still being worked on (NATS `working()`); a no-op for AMQP. */
  working(): void;
}

/** What a source hands its messages to. @internal */
export interface SourceReceiver {
  push(message: Inbound): void;
}

/**
 * A broker Flowbus consumes from, made by `amqpSource()` or `natsSource()` and configured under
 * `sources` in the module options. Its members are Flowbus's, not API.
 */
export interface Source {
  /** @internal e.g. `RabbitMQ queue "orders" on amqp://host:5672/` */
  readonly description: string;
  /** @internal `messaging.system` of its spans: `rabbitmq` or `nats` */
  readonly system: string;
  /** @internal `messaging.destination.name` of its spans: the queue or the stream */
  readonly address: string;
  /** @internal messages per store transaction */
  readonly batchSize: number;
  /** @internal undelivered stored messages past which the source stops taking messages */
  readonly maxBacklog: number;
  /** @internal connects (retrying until stop() when the broker is down) and starts consuming */
  start(receiver: SourceReceiver, logger: Logger): Promise<void>;
  /** @internal stops taking new messages from the broker; held messages can still be settled */
  stop(): Promise<void>;
  /** @internal closes the connection; unsettled messages go back to the broker */
  close(): Promise<void>;
}

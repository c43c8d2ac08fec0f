import { Logger } from '@nestjs/common';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { describeError } from '../../errors/handler-failures.error.js';
import { NonRetryableError } from '../../errors/non-retryable.error.js';
import type { DeliveryMessage, Destination } from '../destination.interface.js';
import type { AmqpDestinationOptions } from './amqp-destination-options.interface.js';
import { DeliveryError } from '../../errors/delivery.error.js';
import { commonJsExports, loadOptionalPackage } from './optional-package.js';
import { resolveAmqpOptions, type ResolvedAmqpOptions } from './resolve-amqp-options.js';

type Amqplib = typeof import('amqplib');

interface Link {
  readonly connection: ChannelModel;
  readonly channel: ConfirmChannel;
  alive: boolean;
}

/**
 * A destination that publishes each message to a RabbitMQ (AMQP 0-9-1) exchange and resolves once
 * the broker confirmed it, so "delivered" means "persisted by the broker". Needs the optional
 * package `amqplib`. See `AmqpDestinationOptions` for the message format.
 *
 * It connects when the relay starts. If the broker is down then, or the connection drops later,
 * deliveries fail (and are retried with backoff) until a delivery manages to reconnect.
 *
 * @example
 * FlowbusModule.forRoot({
 *   destinations: {
 *     rabbit: amqpDestination({ url: 'amqp://guest:guest@localhost:5672', exchange: 'orders' }),
 *   },
 * });
 */
export function amqpDestination(options: AmqpDestinationOptions): Destination {
  return new AmqpDestination(resolveAmqpOptions(options));
}

class AmqpDestination implements Destination {
  readonly maxAttempts?: Destination['maxAttempts'];
  readonly backoff?: Destination['backoff'];
  readonly circuitBreaker?: Destination['circuitBreaker'];
  private readonly logger = new Logger('Flowbus:AmqpDestination');
  private amqp: Amqplib | undefined;
  private current: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private closing = false;
  /** Ids of messages the broker returned as unroutable (with `mandatory`), until their confirm arrives. */
  private readonly returned = new Set<string>();

  constructor(private readonly o: ResolvedAmqpOptions) {
    Object.assign(this, o.overrides);
  }

  async init(): Promise<void> {
    const mod = await loadOptionalPackage('amqplib', 'amqpDestination()', () => import('amqplib'));
    this.amqp = commonJsExports(mod, 'connect');
    try {
      await this.connected();
    } catch (error) {
      // The outbox exists to ride out broker outages: start anyway and connect on a later delivery.
      this.logger.warn(`${describeError(error)}; deliveries will fail and retry until the broker is reachable`);
    }
  }

  async deliver(message: DeliveryMessage): Promise<void> {
    const { exchange } = this.o;
    const routingKey = this.o.routingKey(message);
    const { channel } = await this.connected();
    const body = Buffer.from(JSON.stringify(message.payload ?? null));
    const properties: Options.Publish = {
      persistent: true,
      mandatory: this.o.mandatory,
      messageId: message.id,
      type: message.type,
      contentType: 'application/json',
      timestamp: Math.floor(message.createdAt.getTime() / 1000),
      headers: message.key === null ? { ...message.headers } : { ...message.headers, 'flowbus-key': message.key },
    };
    const target = `exchange "${exchange}" (routing key "${routingKey}") on ${this.o.shownUrl}`;
    await new Promise<void>((resolve, reject) => {
      const confirmed = (error: unknown) => {
        if (error) {
          reject(
            new DeliveryError(`Publish to ${target} was not confirmed: ${describeError(error)}`, { cause: error }),
          );
        } else if (this.returned.delete(message.id)) {
          // The broker sends basic.return before the confirm of the same message.
          reject(new DeliveryError(`Publish to ${target} was returned: no queue is bound for it`));
        } else {
          resolve();
        }
      };
      try {
        channel.publish(exchange, routingKey, body, properties, confirmed);
      } catch (error) {
        // amqplib throws synchronously when the channel is closed, or a headers table is too large.
        const Fail = (error as { name?: unknown } | null)?.name === 'RangeError' ? NonRetryableError : DeliveryError;
        reject(new Fail(`Publish to ${target} failed: ${describeError(error)}`, { cause: error }));
      }
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const link = this.current ?? (await this.connecting?.catch(() => undefined));
    if (!link?.alive) return;
    link.alive = false;
    try {
      await link.connection.close();
    } catch (error) {
      this.logger.warn(`Closing the connection to ${this.o.shownUrl} failed: ${describeError(error)}`);
    }
  }

  /** The open channel, or a new connection and channel; one connection attempt at a time. */
  private connected(): Promise<Link> {
    if (this.current?.alive) return Promise.resolve(this.current);
    if (this.closing) return Promise.reject(new DeliveryError(`amqpDestination to ${this.o.shownUrl} is closed`));
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Link> {
    const amqp = this.amqp;
    if (!amqp) throw new DeliveryError('amqpDestination was not initialised: the relay calls init() before delivering');
    const { url, shownUrl, exchange } = this.o;
    let connection: ChannelModel | undefined;
    try {
      connection = await amqp.connect(url, this.o.socketOptions);
      const channel = await connection.createConfirmChannel();
      const link: Link = { connection, channel, alive: true };
      this.watch(link);
      if (this.o.assertExchange && exchange !== '') {
        await channel.assertExchange(exchange, this.o.exchangeType, { durable: true });
      }
      this.current = link;
      this.logger.log(`Connected to ${shownUrl} (exchange "${exchange}")`);
      return link;
    } catch (error) {
      await connection
        ?.close()
        .catch((e: unknown) => this.logger.debug(`Closing a half-open connection failed: ${describeError(e)}`));
      throw new DeliveryError(`Could not connect to ${shownUrl}: ${describeError(error)}`, { cause: error });
    }
  }

  private watch(link: Link): void {
    const { connection, channel } = link;
    const { shownUrl } = this.o;
    let reason: Error | undefined;
    const drop = (error?: Error) => {
      reason ??= error;
      if (!link.alive) return;
      link.alive = false;
      // 'close' and 'error' of channel and connection come in either order: log once, with a reason.
      setImmediate(() => {
        if (this.closing) return;
        this.logger.warn(
          `Lost the connection to ${shownUrl}${reason ? ` (${reason.message})` : ''}; the next delivery reconnects`,
        );
      });
      // A channel can die alone on a channel error (e.g. a missing exchange): start over cleanly.
      connection
        .close()
        .catch((e: unknown) =>
          this.logger.debug(`Closing the connection to ${shownUrl} after it failed: ${describeError(e)}`),
        );
    };
    // Without 'error' listeners an emitted error would crash the process.
    connection.on('error', (error: Error) => drop(error));
    channel.on('error', (error: Error) => drop(error));
    connection.on('close', (error?: Error) => drop(error));
    channel.on('close', () => drop());
    channel.on('return', (returned: { properties: { messageId?: unknown } }) => {
      if (typeof returned.properties.messageId === 'string') this.returned.add(returned.properties.messageId);
    });
  }
}

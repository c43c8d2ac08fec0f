import type { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { describeError } from '../errors/handler-failures.error.js';
import { commonJsExports, loadOptionalPackage } from '../relay/destinations/optional-package.js';
import { AmqpAcks } from './amqp-acks.js';
import type { AmqpSourceOptions } from './amqp-source-options.interface.js';
import { fromAmqp, parseJson } from './message-mapping.js';
import type { RawAmqpMessage } from './raw-message.interface.js';
import { settleQuietly } from './settle-quietly.js';
import { resolveAmqpSourceOptions, type ResolvedAmqpSourceOptions } from './resolve-source-options.js';
import { retryDelay, sleep } from './sleep.js';
import type { Inbound, Source, SourceReceiver } from './source.interface.js';

type Amqplib = typeof import('amqplib');

interface Link {
  readonly connection: ChannelModel;
  readonly channel: Channel;
  readonly acks: AmqpAcks<ConsumeMessage>;
  consumerTag?: string;
  alive: boolean;
}

/**
 * A source that consumes a RabbitMQ (AMQP 0-9-1) queue into Flowbus: each message is stored for
 * the durable handlers and saga steps of its type, then acknowledged. Needs the optional package
 * `amqplib`. See `AmqpSourceOptions`.
 *
 * It reconnects by itself after a broker restart or a lost connection (100 ms, doubling up to
 * 5 s between attempts); messages it held unacknowledged are redelivered by the broker and
 * recognised by their id.
 *
 * @example
 * FlowbusModule.forRoot({
 *   sources: {
 *     orders: amqpSource({
 *       url: 'amqp://guest:guest@localhost:5672',
 *       queue: 'shipping.orders',
 *       bindings: [{ exchange: 'orders', routingKey: 'OrderPlaced' }],
 *     }),
 *   },
 * });
 */
export function amqpSource(options: AmqpSourceOptions): Source {
  return new AmqpSource(resolveAmqpSourceOptions(options));
}

class AmqpSource implements Source {
  readonly description: string;
  readonly system = 'rabbitmq';
  readonly address: string;
  readonly batchSize: number;
  readonly maxBacklog: number;
  private logger!: Logger;
  private receiver!: SourceReceiver;
  private current: Link | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly o: ResolvedAmqpSourceOptions) {
    this.description = `RabbitMQ queue "${o.queue}" on ${o.shownUrl}`;
    this.address = o.queue;
    this.batchSize = o.batchSize;
    this.maxBacklog = o.maxBacklog;
  }

  async start(receiver: SourceReceiver, logger: Logger): Promise<void> {
    const mod = await loadOptionalPackage('amqplib', 'amqpSource()', () => import('amqplib'));
    const amqp = commonJsExports(mod as Amqplib, 'connect');
    this.receiver = receiver;
    this.logger = logger;
    // The first attempt is awaited, so the topology exists once the app started (when the broker is up).
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    this.running = this.keepConnected(amqp, firstAttempt);
    await attempted;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    const link = this.current;
    if (link?.alive && link.consumerTag) await link.channel.cancel(link.consumerTag);
  }

  async close(): Promise<void> {
    this.stopping.abort();
    const link = this.current;
    if (link?.alive) {
      link.acks.flush();
      link.alive = false;
      // Closing the channel first (an RPC behind the acks on the channel's stream) makes sure the
      // last acks reached the broker: a connection close alone can overtake them.
      await link.channel.close().catch(() => undefined);
      await link.connection.close();
    }
    await this.running;
  }

  /** Connects, consumes until the connection drops, and starts over, until stopped. */
  private async keepConnected(amqp: Amqplib, attempted: () => void): Promise<void> {
    for (let failures = 0; !this.stopping.signal.aborted;) {
      let closed: Promise<void>;
      try {
        ({ closed } = await this.open(amqp));
        failures = 0;
        attempted();
      } catch (error) {
        attempted();
        failures++;
        if (failures === 1 || failures % 20 === 0) {
          this.logger.warn(`${this.description}: ${describeError(error)}; retrying`);
        }
        await sleep(retryDelay(failures), this.stopping.signal);
        continue;
      }
      await closed;
      if (!this.stopping.signal.aborted) this.logger.warn(`${this.description}: connection lost; reconnecting`);
    }
  }

  /** One connection with its consumer, and a promise of its end. */
  private async open(amqp: Amqplib): Promise<{ closed: Promise<void> }> {
    const o = this.o;
    const connection = await amqp.connect(o.url, o.socketOptions);
    const link: Link = {
      connection,
      channel: undefined as unknown as Channel,
      // A message of a dropped channel is redelivered by the broker: nothing to ack.
      acks: new AmqpAcks(
        (msg, multiple) => {
          if (link.alive) settleQuietly(this.logger, this.description, 'ack', () => link.channel.ack(msg, multiple));
        },
        (msg) => msg.fields.deliveryTag,
      ),
      alive: true,
    };
    let ended!: () => void;
    const closed = new Promise<void>((resolve) => (ended = resolve));
    const drop = (error?: Error) => {
      if (error && link.alive && !this.stopping.signal.aborted)
        this.logger.debug(`${this.description}: ${error.message}`);
      if (!link.alive) return ended();
      link.alive = false;
      connection.close().catch(() => undefined);
      ended();
    };
    // Without 'error' listeners an emitted error would crash the process.
    connection.on('error', drop);
    connection.on('close', () => {
      link.alive = false;
      ended();
    });
    try {
      const channel = await connection.createChannel();
      (link as { channel: Channel }).channel = channel;
      channel.on('error', drop);
      channel.on('close', () => drop());
      if (o.assertTopology) await this.assertTopology(channel);
      await channel.prefetch(o.prefetch);
      if (this.stopping.signal.aborted) throw new Error('stopped while connecting');
      this.current = link;
      const { consumerTag } = await channel.consume(o.queue, (msg) => {
        // null: the broker cancelled the consumer (queue deleted): start over.
        if (msg === null) drop(new Error(`the broker cancelled the consumer of "${o.queue}"`));
        else {
          link.acks.delivered(msg);
          this.receiver.push(this.inbound(link, msg));
        }
      });
      link.consumerTag = consumerTag;
    } catch (error) {
      link.alive = false;
      await connection.close().catch(() => undefined);
      throw error;
    }
    this.logger.log(`${this.description}: consuming (prefetch ${o.prefetch})`);
    return { closed };
  }

  private async assertTopology(channel: Channel): Promise<void> {
    const { queue, deadLetterQueue, bindings } = this.o;
    const args: Record<string, string> = {};
    if (deadLetterQueue !== false) {
      await channel.assertQueue(deadLetterQueue, { durable: true });
      args['x-dead-letter-exchange'] = '';
      args['x-dead-letter-routing-key'] = deadLetterQueue;
    }
    await channel.assertQueue(queue, { durable: true, arguments: args });
    for (const b of bindings) {
      await channel.assertExchange(b.exchange, b.exchangeType, { durable: true });
      await channel.bindQueue(queue, b.exchange, b.routingKey);
    }
  }

  private inbound(link: Link, msg: ConsumeMessage): Inbound {
    const settle = (what: string, fn: () => void) => {
      // A message of a dropped channel is redelivered by the broker: nothing to settle.
      if (link.alive) settleQuietly(this.logger, this.description, what, fn);
    };
    return {
      map: () => {
        const raw: RawAmqpMessage = {
          body: msg.content,
          json: () => parseJson(msg.content),
          exchange: msg.fields.exchange,
          routingKey: msg.fields.routingKey,
          redelivered: msg.fields.redelivered,
          properties: msg.properties as unknown as Record<string, unknown>,
          headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
        };
        return this.o.map ? (this.o.map as (raw: RawAmqpMessage) => ReturnType<Inbound['map']>)(raw) : fromAmqp(raw);
      },
      // Sent with the other acks of its batch (see AmqpAcks).
      ack: () => settle('ack', () => link.acks.ack(msg)),
      reject: () =>
        settle('reject', () => {
          link.channel.nack(msg, false, false);
          link.acks.rejected(msg);
        }),
      working: () => undefined,
    };
  }
}

import type { Logger } from '@nestjs/common';
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import { describeError } from '../errors/handler-failures.error.js';
import { commonJsExports, loadOptionalPackage } from '../relay/destinations/optional-package.js';
import { fromNats, parseJson } from './message-mapping.js';
import type { NatsSourceOptions } from './nats-source-options.interface.js';
import type { RawNatsMessage } from './raw-message.interface.js';
import { settleQuietly } from './settle-quietly.js';
import { resolveNatsSourceOptions, type ResolvedNatsSourceOptions } from './resolve-source-options.js';
import { retryDelay, sleep } from './sleep.js';
import type { Inbound, Source, SourceReceiver } from './source.interface.js';

type Nats = typeof import('nats');

/** How long one pull request lasts; bounds the pause after a reconnect whose first re-pull failed. */
const PULL_EXPIRES_MS = 5000;

/** JetStream's error code for "consumer not found". */
const CONSUMER_NOT_FOUND = 10014;

/**
 * A source that pulls from a durable JetStream consumer into Flowbus: each message is stored for
 * the durable handlers and saga steps of its type, then acknowledged. Needs the optional package
 * `nats`. See `NatsSourceOptions`.
 *
 * The connection reconnects by itself (forever, unless `connectOptions` say otherwise); a closed
 * connection or a deleted consumer is opened or created again after a pause.
 *
 * @example
 * FlowbusModule.forRoot({
 *   sources: {
 *     replies: natsSource({ servers: 'nats://localhost:4222', stream: 'SHIPPING', durable: 'shop' }),
 *   },
 * });
 */
export function natsSource(options: NatsSourceOptions): Source {
  return new NatsSource(resolveNatsSourceOptions(options));
}

class NatsSource implements Source {
  readonly description: string;
  readonly system = 'nats';
  readonly address: string;
  readonly batchSize: number;
  readonly maxBacklog: number;
  private logger!: Logger;
  private receiver!: SourceReceiver;
  private connection: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly o: ResolvedNatsSourceOptions) {
    this.description = `JetStream consumer "${o.durable}" of stream "${o.stream}" on ${o.shownServers}`;
    this.address = o.stream;
    this.batchSize = o.batchSize;
    this.maxBacklog = o.maxBacklog;
  }

  async start(receiver: SourceReceiver, logger: Logger): Promise<void> {
    const mod = await loadOptionalPackage('nats', 'natsSource()', () => import('nats'));
    this.receiver = receiver;
    this.logger = logger;
    // The first attempt is awaited, so the consumer exists once the app started (when NATS is up).
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    this.running = this.keepConsuming(commonJsExports(mod as Nats, 'connect'), firstAttempt);
    await attempted;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.messages?.stop();
  }

  async close(): Promise<void> {
    this.stopping.abort();
    this.messages?.stop();
    const connection = this.connection;
    if (connection && !connection.isClosed()) await connection.drain();
    await this.running;
  }

  /** Connects, consumes, and starts over after a failure, until stopped. */
  private async keepConsuming(nats: Nats, attempted: () => void): Promise<void> {
    for (let failures = 0; !this.stopping.signal.aborted;) {
      try {
        const connection = await this.connected(nats);
        const messages = await this.consume(connection);
        failures = 0;
        attempted();
        for await (const m of messages) this.receiver.push(this.inbound(m));
        if (!this.stopping.signal.aborted) this.logger.warn(`${this.description}: consuming stopped; starting again`);
      } catch (error) {
        attempted();
        if (this.stopping.signal.aborted) break;
        failures++;
        if (failures === 1 || failures % 20 === 0)
          this.logger.warn(`${this.description}: ${describeError(error)}; retrying`);
      }
      await sleep(retryDelay(Math.max(failures, 1)), this.stopping.signal);
    }
  }

  private async connected(nats: Nats): Promise<NatsConnection> {
    if (this.connection && !this.connection.isClosed()) return this.connection;
    this.connection = await nats.connect({
      maxReconnectAttempts: -1,
      ...this.o.connectOptions,
      servers: this.o.servers,
    });
    return this.connection;
  }

  /** The durable consumer (created when missing) and its message stream. */
  private async consume(connection: NatsConnection): Promise<ConsumerMessages> {
    const { stream, durable, filterSubjects } = this.o;
    const jsm = await connection.jetstreamManager();
    try {
      await jsm.consumers.info(stream, durable);
    } catch (error) {
      if ((error as { api_error?: { err_code?: unknown } }).api_error?.err_code !== CONSUMER_NOT_FOUND) throw error;
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: 'explicit' as never,
        ack_wait: this.o.ackWaitMs * 1_000_000,
        max_ack_pending: this.o.maxAckPending,
        ...(filterSubjects.length === 1 ? { filter_subject: filterSubjects[0] } : {}),
        ...(filterSubjects.length > 1 ? { filter_subjects: filterSubjects } : {}),
      });
      this.logger.log(`${this.description}: created the durable consumer`);
    }
    const consumer = await connection.jetstream().consumers.get(stream, durable);
    // The server sends at most max_ack_pending unacknowledged messages: that bounds what waits here.
    // Short pulls: after a reconnect the client re-pulls, and backs off `expires` when that fails
    // (30 s by default); its idle heartbeat (half of it) notices a pull the server forgot.
    this.messages = await consumer.consume({ max_messages: 2 * this.o.batchSize, expires: PULL_EXPIRES_MS });
    if (this.stopping.signal.aborted) this.messages.stop();
    this.logger.log(`${this.description}: consuming`);
    return this.messages;
  }

  private inbound(m: JsMsg): Inbound {
    const settle = (what: string, fn: () => void) => settleQuietly(this.logger, this.description, what, fn);
    return {
      map: () => {
        const headers: Record<string, string> = {};
        for (const name of m.headers?.keys() ?? []) headers[name] = m.headers!.get(name);
        const raw: RawNatsMessage = {
          body: m.data,
          json: () => parseJson(m.data),
          subject: m.subject,
          headers,
          stream: m.info.stream,
          sequence: m.seq,
          redelivered: m.redelivered,
        };
        return this.o.map ? (this.o.map as (raw: RawNatsMessage) => ReturnType<Inbound['map']>)(raw) : fromNats(raw);
      },
      ack: () => settle('ack', () => m.ack()),
      // No reason with the term: servers before 2.10 do not take one (and then ignore the term).
      reject: () => settle('term', () => m.term()),
      working: () => settle('working', () => m.working()),
    };
  }
}

import { Logger } from '@nestjs/common';
import type { JetStreamClient, NatsConnection } from 'nats';
import { describeError } from '../../errors/handler-failures.error.js';
import { NonRetryableError } from '../../errors/non-retryable.error.js';
import type { DeliveryMessage, Destination } from '../destination.interface.js';
import { DeliveryError } from '../../errors/delivery.error.js';
import type { NatsDestinationOptions } from './nats-destination-options.interface.js';
import { commonJsExports, loadOptionalPackage } from './optional-package.js';
import { resolveNatsOptions, type ResolvedNatsOptions } from './resolve-nats-options.js';

/** JetStream's error code for "stream not found". */
const STREAM_NOT_FOUND = 10059;

type Nats = typeof import('nats');

interface Link {
  readonly connection: NatsConnection;
  readonly jetstream: JetStreamClient;
}

/**
 * A destination that publishes each message to NATS JetStream and resolves once JetStream stored
 * it. The message id goes out as `Nats-Msg-Id`, so JetStream drops a redelivery within the
 * stream's duplicate window. Needs the optional package `nats`. See `NatsDestinationOptions`.
 *
 * It connects when the relay starts and drains the connection on shutdown. If the server is
 * unreachable, deliveries fail (and are retried with backoff) until one manages to connect.
 *
 * @example
 * FlowbusModule.forRoot({
 *   destinations: {
 *     events: natsDestination({
 *       servers: 'nats://localhost:4222',
 *       subject: (m) => `orders.${m.type}`,
 *       stream: 'ORDERS',
 *       streamSubjects: ['orders.>'],
 *     }),
 *   },
 * });
 */
export function natsDestination(options: NatsDestinationOptions): Destination {
  return new NatsDestination(resolveNatsOptions(options));
}

class NatsDestination implements Destination {
  readonly maxAttempts?: Destination['maxAttempts'];
  readonly backoff?: Destination['backoff'];
  readonly circuitBreaker?: Destination['circuitBreaker'];
  private readonly logger = new Logger('Flowbus:NatsDestination');
  private nats: Nats | undefined;
  private current: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private closing = false;

  constructor(private readonly o: ResolvedNatsOptions) {
    Object.assign(this, o.overrides);
  }

  async init(): Promise<void> {
    const mod = await loadOptionalPackage('nats', 'natsDestination()', () => import('nats'));
    this.nats = commonJsExports(mod, 'connect');
    try {
      await this.connected();
    } catch (error) {
      // The outbox exists to ride out outages: start anyway and connect on a later delivery.
      this.logger.warn(`${describeError(error)}; deliveries will fail and retry until NATS is reachable`);
    }
  }

  async deliver(message: DeliveryMessage): Promise<void> {
    const subject = this.o.subject(message);
    const { jetstream } = await this.connected();
    const nats = this.nats as Nats;
    const headers = nats.headers();
    try {
      for (const [name, value] of Object.entries(message.headers)) headers.set(name, value);
      headers.set('Content-Type', 'application/json');
      headers.set('Flowbus-Type', message.type);
      if (message.key !== null) headers.set('Flowbus-Key', message.key);
    } catch (error) {
      // NATS refuses some header names and values; retrying cannot change that.
      throw new NonRetryableError(`Message ${message.id} has a header NATS cannot carry: ${describeError(error)}`, {
        cause: error,
      });
    }
    const data = Buffer.from(JSON.stringify(message.payload ?? null));
    try {
      await jetstream.publish(subject, data, {
        msgID: message.id,
        headers,
        timeout: this.o.timeoutMs,
        ...(this.o.stream ? { expect: { streamName: this.o.stream } } : {}),
      });
    } catch (error) {
      // A duplicate is acknowledged, not an error; what lands here is no stream, no answer, a timeout.
      const reason =
        (error as { code?: unknown } | null)?.code === '503'
          ? 'no JetStream stream stores this subject (503 no responders)'
          : describeError(error);
      throw new DeliveryError(`JetStream publish to "${subject}" on ${this.o.shownServers} failed: ${reason}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const link = this.current ?? (await this.connecting?.catch(() => undefined));
    if (!link || link.connection.isClosed()) return;
    try {
      await link.connection.drain();
    } catch (error) {
      this.logger.warn(`Draining the NATS connection failed: ${describeError(error)}`);
    }
  }

  /** The open connection, or a new one; one connection attempt at a time. */
  private connected(): Promise<Link> {
    if (this.current && !this.current.connection.isClosed()) return Promise.resolve(this.current);
    if (this.closing) return Promise.reject(new DeliveryError('natsDestination is closed'));
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Link> {
    const nats = this.nats;
    if (!nats) throw new DeliveryError('natsDestination was not initialised: the relay calls init() before delivering');
    let connection: NatsConnection | undefined;
    try {
      connection = await nats.connect({ maxReconnectAttempts: -1, ...this.o.connectOptions, servers: this.o.servers });
      if (this.o.stream) await this.ensureStream(connection, this.o.stream);
      const link: Link = { connection, jetstream: connection.jetstream() };
      this.current = link;
      this.watch(connection);
      this.logger.log(
        `Connected to NATS at ${connection.getServer()}${this.o.stream ? ` (stream "${this.o.stream}")` : ''}`,
      );
      return link;
    } catch (error) {
      await connection
        ?.close()
        .catch((e: unknown) => this.logger.debug(`Closing a half-open NATS connection failed: ${describeError(e)}`));
      throw new DeliveryError(`Could not connect to NATS at ${this.o.shownServers}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  private async ensureStream(connection: NatsConnection, stream: string): Promise<void> {
    const jsm = await connection.jetstreamManager();
    try {
      await jsm.streams.info(stream);
      return;
    } catch (error) {
      if ((error as { api_error?: { err_code?: unknown } }).api_error?.err_code !== STREAM_NOT_FOUND) throw error;
    }
    await jsm.streams.add({ name: stream, subjects: this.o.streamSubjects });
    this.logger.log(`Created JetStream stream "${stream}" on ${this.o.streamSubjects.join(', ')}`);
  }

  private watch(connection: NatsConnection): void {
    void connection.closed().then((error) => {
      if (this.closing) return;
      this.logger.warn(`NATS connection closed${error ? `: ${error.message}` : ''}; the next delivery reconnects`);
    });
  }
}

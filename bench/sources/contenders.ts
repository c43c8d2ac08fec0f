import { Injectable } from '@nestjs/common';
import { connect as amqpConnect } from 'amqplib';
import { HandleEvent, amqpSource, natsSource, type Source } from 'nestjs-flowbus';
import { AckPolicy, connect as natsConnect, type JsMsg } from 'nats';
import pg from 'pg';
import { startFlowbusApp } from '../support/flowbus-app.js';

/** What each contender reports: ms until every message was acknowledged, and until handled. */
export interface Timing {
  readonly ackedMs: number;
  readonly handledMs: number;
}

export class BenchEvent {
  static readonly eventType = 'SourceBench';
}

/** The durable handler that does nothing (its inbox row is the work). */
@Injectable()
export class NoopHandler {
  static handled = 0;
  static done: (() => void) | undefined;
  static expected = 0;
  @HandleEvent(BenchEvent, { durable: true })
  handle(): void {
    if (++NoopHandler.handled === NoopHandler.expected) NoopHandler.done?.();
  }
}

/**
 * Flowbus: the source stores the queued messages and acknowledges them, the relay runs the no-op
 * durable handler for each. Timed like the hand-written consumers, from the start of receiving
 * (the first message the source hands to Flowbus) to the last ack / the last handler call: the
 * app's boot before it (Nest, migrations of a fresh schema, connecting) is not receiving, and the
 * hand-written consumers' set-up (pool, inbox table, connection, channel) is not timed either.
 * `bootMs` is that boot, from the start of the app to the first message, reported beside.
 */
export async function flowbusRun(p: {
  databaseUrl: string;
  schema: string;
  source: Source;
  count: number;
  /** false: store only (no relay, nothing handled), the source's own rate. */
  relay?: boolean;
  pendingOnBroker: () => Promise<number>;
}): Promise<Timing & { bootMs: number }> {
  let firstAt: number | undefined;
  const source: Source = {
    description: p.source.description,
    system: p.source.system,
    address: p.source.address,
    batchSize: p.source.batchSize,
    maxBacklog: p.source.maxBacklog,
    start: (receiver, logger) =>
      p.source.start(
        {
          push: (message) => {
            firstAt ??= performance.now();
            receiver.push(message);
          },
        },
        logger,
      ),
    stop: () => p.source.stop(),
    close: () => p.source.close(),
  };
  NoopHandler.handled = 0;
  NoopHandler.expected = p.count;
  const relay = p.relay ?? true;
  const handled =
    p.count === 0 || !relay ? Promise.resolve() : new Promise<void>((resolve) => (NoopHandler.done = resolve));
  const t0 = performance.now();
  const app = await startFlowbusApp({
    databaseUrl: p.databaseUrl,
    options: {
      schema: p.schema,
      sources: { bench: source },
      relay: { enabled: relay, pollIntervalMs: 100, listen: false, batchSize: 500 },
    },
    providers: [NoopHandler],
    poolSize: 12,
  });
  let ackedAt = 0;
  const watch = (async () => {
    while ((await p.pendingOnBroker()) > 0) await new Promise((r) => setTimeout(r, 5));
    ackedAt = performance.now();
  })();
  await handled;
  await watch;
  const handledAt = performance.now();
  await app.close();
  const start = firstAt ?? handledAt;
  return {
    ackedMs: ackedAt - start,
    handledMs: relay ? handledAt - start : Number.NaN,
    bootMs: start - t0,
  };
}

/** The hand-written consumer: one transaction per message inserting its id into an inbox table, ack after commit. */
export async function idempotentAmqp(url: string, queue: string, databaseUrl: string, count: number): Promise<Timing> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  await pool.query('CREATE TABLE IF NOT EXISTS bench_inbox (id text PRIMARY KEY)');
  const connection = await amqpConnect(url);
  const channel = await connection.createChannel();
  await channel.prefetch(200);
  let done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    void channel.consume(queue, (msg) => {
      if (!msg) return;
      void (async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('INSERT INTO bench_inbox (id) VALUES ($1) ON CONFLICT DO NOTHING', [
            msg.properties.messageId,
          ]);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
        channel.ack(msg);
        if (++done === count) resolve();
      })().catch(reject);
    });
  });
  const ms = performance.now() - t0;
  await channel.close();
  await connection.close();
  await pool.end();
  return { ackedMs: ms, handledMs: ms };
}

/** The broker's ceiling: consume and acknowledge, nothing else. */
export async function ackOnlyAmqp(url: string, queue: string, count: number): Promise<Timing> {
  const connection = await amqpConnect(url);
  const channel = await connection.createChannel();
  await channel.prefetch(200);
  let done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    void channel.consume(queue, (msg) => {
      if (!msg) return;
      channel.ack(msg);
      if (++done === count) resolve();
    });
  });
  const ms = performance.now() - t0;
  await channel.close();
  await connection.close();
  return { ackedMs: ms, handledMs: ms };
}

/** NATS: the idempotent hand-written consumer (`idempotent`) or the ack-only one. */
export async function handNats(
  servers: string,
  stream: string,
  durable: string,
  count: number,
  databaseUrl?: string,
): Promise<Timing> {
  const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl, max: 10 }) : undefined;
  await pool?.query('CREATE TABLE IF NOT EXISTS bench_inbox (id text PRIMARY KEY)');
  const nc = await natsConnect({ servers });
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
  const consumer = await nc.jetstream().consumers.get(stream, durable);
  let done = 0;
  const t0 = performance.now();
  const messages = await consumer.consume({ max_messages: 200 });
  await new Promise<void>((resolve, reject) => {
    const settle = (m: JsMsg) => {
      m.ack();
      if (++done === count) resolve();
    };
    void (async () => {
      for await (const m of messages) {
        if (!pool) settle(m);
        else
          void (async () => {
            const client = await pool.connect();
            try {
              await client.query('BEGIN');
              await client.query('INSERT INTO bench_inbox (id) VALUES ($1) ON CONFLICT DO NOTHING', [
                m.headers?.get('Nats-Msg-Id'),
              ]);
              await client.query('COMMIT');
            } finally {
              client.release();
            }
            settle(m);
          })().catch(reject);
      }
    })().catch(reject);
  });
  const ms = performance.now() - t0;
  messages.stop();
  await nc.drain();
  await pool?.end();
  return { ackedMs: ms, handledMs: ms };
}

export { amqpSource, natsSource };

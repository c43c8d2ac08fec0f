import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { connect as natsConnect, headers as natsHeaders, type NatsConnection } from 'nats';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  amqpDestination,
  amqpSource,
  HandleEvent,
  InvalidOptionsError,
  natsDestination,
  natsSource,
  OutboxService,
  type FlowbusOptions,
} from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import type { EntityManager } from 'typeorm';
import { createFlowbusApp, writtenRows } from './support/app.js';
import { NATS_URL, portOpen, RABBIT_URL } from './support/brokers.js';
import { useTestDatabase } from './support/database.js';
import { startTcpProxy } from './support/tcp-proxy.js';

const rabbitUp = await portOpen(5672);
const natsUp = await portOpen(4222);
if (!rabbitUp)
  console.log('Skipping the AMQP source tests: nothing listens on 127.0.0.1:5672 (start RabbitMQ to run them)');
if (!natsUp)
  console.log('Skipping the NATS source tests: nothing listens on 127.0.0.1:4222 (start nats-server -js to run them)');
const withRabbit = rabbitUp ? describe : describe.skip;
const withNats = natsUp ? describe : describe.skip;

const unique = () => randomBytes(4).toString('hex');

class Ping {
  static readonly eventType = 'SourcePing';
  n!: number;
  tag?: string;
}

/** Every call of the durable handler. */
const calls: { n: number; tag?: string; app: string }[] = [];

@Injectable()
class PingHandler {
  static app = 'a';
  @HandleEvent(Ping, { durable: true })
  async onPing(event: Ping, manager: EntityManager) {
    await manager.query('SELECT 1');
    calls.push({ n: event.n, tag: event.tag, app: PingHandler.app });
  }
}

const testDb = useTestDatabase();
const apps: INestApplication[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  calls.length = 0;
  // What one test stored and left undelivered must not reach the next test's handler.
  const [{ migrated }] = await testDb.ds.query(`SELECT to_regclass('flowbus_received') IS NOT NULL AS migrated`);
  if (migrated) {
    await testDb.ds.query(
      'TRUNCATE flowbus_outbox, flowbus_inbox, flowbus_received, flowbus_dead_letter, flowbus_log, flowbus_cursor',
    );
  }
});

async function start(options: Omit<FlowbusOptions, 'dataSource'>, dataSource = testDb.ds): Promise<INestApplication> {
  const app = await createFlowbusApp({
    dataSource,
    options: { relay: { pollIntervalMs: 50, listen: false }, ...options },
    providers: [PingHandler],
  });
  apps.push(app);
  return app;
}

const count = async (sql: string, values: unknown[] = []) => Number((await testDb.ds.query(sql, values))[0].n);
const stored = (source: string) =>
  count(`SELECT count(*) AS n FROM ${writtenRows.table} WHERE headers->>'flowbus-source' = $1`, [source]);

/**
 * Sends a message through the destination `name` of `app` and checks that the source of the same
 * name stored it as it was written: type, key, headers and payload, with its id as a header.
 */
async function expectRoundTrip(app: INestApplication, name: string): Promise<void> {
  const outbox = app.get(OutboxService);
  const id = randomUUID();
  const message = { destination: name, type: 'SourcePing', payload: { n: 1 }, key: 'k1', headers: { h: 'v' }, id };
  await outbox.transaction((m) => outbox.enqueue(m, message));
  await waitFor(() => calls.length === 1, { timeoutMs: 10_000 });
  expect(calls[0]).toMatchObject({ n: 1 });
  const rows = await testDb.ds.query(
    `SELECT type, key, headers, payload FROM ${writtenRows.table} WHERE ${writtenRows.local} AND headers->>'flowbus-source' = $1`,
    [name],
  );
  expect(rows).toEqual([
    {
      type: 'SourcePing',
      key: 'k1',
      payload: { n: 1 },
      // The sender's conversation carries on; the message received is caused by the one sent.
      headers: { h: 'v', 'correlation-id': id, 'causation-id': id, 'flowbus-source': name, 'flowbus-source-id': id },
    },
  ]);
}

describe('options', () => {
  it('fail at creation naming the field', () => {
    expect(() => amqpSource({ url: 'http://x', queue: 'q' })).toThrow(
      new InvalidOptionsError('amqpSource.url', 'must use amqp: or amqps:, got "http:"'),
    );
    expect(() => amqpSource({ url: RABBIT_URL } as never)).toThrow(/amqpSource\.queue.*is required/);
    expect(() => amqpSource({ url: RABBIT_URL, queue: 'q', prefetch: 0 })).toThrow(/amqpSource\.prefetch/);
    expect(() => amqpSource({ url: RABBIT_URL, queue: 'q', bindings: [{ exchange: '' }] })).toThrow(
      /amqpSource\.bindings\[0\]\.exchange/,
    );
    expect(() => amqpSource({ url: RABBIT_URL, queue: 'q', map: 'x' as never })).toThrow(/amqpSource\.map/);
    expect(() => natsSource({ servers: NATS_URL, stream: 'S' } as never)).toThrow(/natsSource\.durable.*is required/);
    expect(() => natsSource({ servers: [], stream: 'S', durable: 'd' })).toThrow(/natsSource\.servers/);
    expect(() => natsSource({ servers: NATS_URL, stream: 'S', durable: 'd', prefetch: 1 } as never)).toThrow(
      /natsSource\.prefetch.*unknown option/,
    );
  });

  it('refuse a source that is not one, naming it', async () => {
    const error = await start({ sources: { orders: { url: 'x' } as never } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toContain('"sources.orders"');
  });
});

withRabbit('amqpSource', () => {
  let connection: ChannelModel;
  let channel: Channel;

  beforeAll(async () => {
    connection = await amqpConnect(RABBIT_URL);
    channel = await connection.createChannel();
  });

  afterAll(async () => {
    await connection.close();
  });

  /** A queue (and its dead-letter queue) deleted after the test. */
  const names: string[] = [];
  afterEach(async () => {
    for (const name of names.splice(0)) {
      await channel.deleteQueue(name).catch(() => undefined);
      await channel.deleteExchange(name).catch(() => undefined);
    }
  });
  const queueName = () => {
    const q = `flowbus.test.${unique()}`;
    names.push(q, `${q}.dead-letter`);
    return q;
  };

  const send = (queue: string, body: unknown, properties: Record<string, unknown>) =>
    channel.sendToQueue(queue, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), properties);

  it('round-trips what amqpDestination wrote into a durable handler, with key and headers', async () => {
    const queue = queueName();
    const exchange = queue;
    const app = await start({
      destinations: { rabbit: amqpDestination({ url: RABBIT_URL, exchange }) },
      sources: { rabbit: amqpSource({ url: RABBIT_URL, queue, bindings: [{ exchange, routingKey: 'SourcePing' }] }) },
    });
    await expectRoundTrip(app, 'rabbit');
  });

  it('stores a message sent three times once, and acknowledges every copy', async () => {
    const queue = queueName();
    await start({ sources: { dup: amqpSource({ url: RABBIT_URL, queue }) } });
    const id = randomUUID();
    for (let i = 0; i < 3; i++) send(queue, { n: 7 }, { messageId: id, type: 'SourcePing' });
    send(queue, { n: 8 }, { messageId: randomUUID(), type: 'SourcePing' });
    await waitFor(() => calls.length === 2, { timeoutMs: 10_000 });
    await waitFor(async () => (await channel.checkQueue(queue)).messageCount === 0);
    expect(await stored('dup')).toBe(2);
    expect(calls.map((c) => c.n).sort()).toEqual([7, 8]);
    // Sent again later (a redelivery after a crash between commit and ack): still nothing new.
    send(queue, { n: 7 }, { messageId: id, type: 'SourcePing' });
    await waitFor(async () => (await channel.checkQueue(queue)).messageCount === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await stored('dup')).toBe(2);
    expect(calls).toHaveLength(2);
  });

  it('rejects what cannot be mapped, or has no subscriber, to the dead-letter queue without blocking the rest', async () => {
    const queue = queueName();
    await start({ sources: { poison: amqpSource({ url: RABBIT_URL, queue }) } });
    send(queue, 'not json', { messageId: randomUUID(), type: 'SourcePing' });
    send(queue, { n: 1 }, { type: 'SourcePing' }); // no message id
    send(queue, { n: 2 }, { messageId: randomUUID(), type: 'NobodyHandlesThis' });
    send(queue, { n: 3 }, { messageId: randomUUID(), type: 'SourcePing' });
    await waitFor(() => calls.length === 1, { timeoutMs: 10_000 });
    await waitFor(async () => (await channel.checkQueue(`${queue}.dead-letter`)).messageCount === 3);
    expect(calls[0]!.n).toBe(3);
    expect(await stored('poison')).toBe(1);
    // Not remembered as received: requeued once a subscriber exists, it would be stored.
    expect(await count(`SELECT count(*) AS n FROM flowbus_received WHERE source = 'poison'`)).toBe(1);
  });

  it('maps messages of other producers with map(raw), and drops those it maps to null', async () => {
    const queue = queueName();
    await start({
      sources: {
        foreign: amqpSource({
          url: RABBIT_URL,
          queue,
          map: (raw) => {
            const body = raw.json() as { orderNo: number; kind: string };
            if (body.kind === 'ignore') return null;
            return {
              id: `order-${body.orderNo}`,
              type: 'SourcePing',
              key: String(raw.headers.customer),
              payload: { n: body.orderNo, tag: raw.routingKey },
            };
          },
        }),
      },
    });
    send(queue, { orderNo: 41, kind: 'ignore' }, {});
    send(queue, { orderNo: 42, kind: 'order' }, { headers: { customer: 'c-9' } });
    send(queue, { orderNo: 42, kind: 'order' }, { headers: { customer: 'c-9' } });
    await waitFor(() => calls.length === 1, { timeoutMs: 10_000 });
    await waitFor(async () => (await channel.checkQueue(queue)).messageCount === 0);
    expect(calls[0]).toMatchObject({ n: 42, tag: queue });
    const rows = await testDb.ds.query(
      `SELECT key, headers FROM ${writtenRows.table} WHERE headers->>'flowbus-source' = 'foreign'`,
    );
    expect(rows).toEqual([
      {
        key: 'c-9',
        headers: {
          'flowbus-source': 'foreign',
          'flowbus-source-id': 'order-42',
          'causation-id': 'order-42',
          // A foreign message starts a conversation of its own.
          'correlation-id': expect.any(String),
        },
      },
    ]);
  });

  it('reconnects after the connection is cut and goes on receiving', async () => {
    const queue = queueName();
    const proxy = await startTcpProxy(5672);
    try {
      await start({ sources: { cut: amqpSource({ url: proxy.urlFor(RABBIT_URL), queue }) } });
      await waitFor(async () => (await channel.checkQueue(queue)).consumerCount === 1, { timeoutMs: 10_000 });
      send(queue, { n: 1 }, { messageId: randomUUID(), type: 'SourcePing' });
      await waitFor(() => calls.length === 1, { timeoutMs: 10_000 });
      proxy.refuse();
      proxy.cut();
      await waitFor(async () => (await channel.checkQueue(queue)).consumerCount === 0, { timeoutMs: 10_000 });
      send(queue, { n: 2 }, { messageId: randomUUID(), type: 'SourcePing' });
      await new Promise((r) => setTimeout(r, 300));
      proxy.accept();
      await waitFor(() => calls.length === 2, { timeoutMs: 15_000 });
      expect(calls.map((c) => c.n)).toEqual([1, 2]);
    } finally {
      await Promise.all(apps.splice(0).map((a) => a.close()));
      await proxy.close();
    }
  });

  it('stops taking messages while the local backlog is past maxBacklog, and resumes when it drains', async () => {
    const queue = queueName();
    // No relay here: what is stored stays undelivered until the second app's relay delivers it.
    await start({
      relay: { enabled: false },
      sources: { slow: amqpSource({ url: RABBIT_URL, queue, maxBacklog: 20, prefetch: 10 }) },
    });
    for (let n = 0; n < 200; n++) send(queue, { n }, { messageId: randomUUID(), type: 'SourcePing' });
    await waitFor(async () => (await stored('slow')) >= 20, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    // The bound plus at most one batch beyond it; the rest waits on the broker.
    expect(await stored('slow')).toBeLessThanOrEqual(20 + 5);
    expect((await channel.checkQueue(queue)).messageCount).toBeGreaterThanOrEqual(200 - 25 - 10);
    await start({ relay: { pollIntervalMs: 50, listen: false } });
    await waitFor(() => calls.length === 200, { timeoutMs: 30_000 });
    expect(new Set(calls.map((c) => c.n)).size).toBe(200);
  });

  it('lets instances compete for one queue, each message handled once', async () => {
    const queue = queueName();
    PingHandler.app = 'a';
    const a = await start({ sources: { shared: amqpSource({ url: RABBIT_URL, queue, prefetch: 10 }) } });
    PingHandler.app = 'b';
    await start({ sources: { shared: amqpSource({ url: RABBIT_URL, queue, prefetch: 10 }) } });
    PingHandler.app = 'a';
    await waitFor(async () => (await channel.checkQueue(queue)).consumerCount === 2, { timeoutMs: 10_000 });
    for (let n = 0; n < 300; n++) send(queue, { n }, { messageId: randomUUID(), type: 'SourcePing' });
    await waitFor(() => calls.length === 300, { timeoutMs: 30_000 });
    expect(new Set(calls.map((c) => c.n)).size).toBe(300);
    expect(await stored('shared')).toBe(300);
    void a;
  });

  it('on shutdown stops receiving, then stores and acknowledges what it holds', async () => {
    const queue = queueName();
    const app = await start({ sources: { closing: amqpSource({ url: RABBIT_URL, queue, prefetch: 50 }) } });
    for (let n = 0; n < 500; n++) send(queue, { n }, { messageId: randomUUID(), type: 'SourcePing' });
    await waitFor(async () => (await stored('closing')) > 0, { timeoutMs: 10_000 });
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    const left = (await channel.checkQueue(queue)).messageCount;
    // Everything the broker no longer has was stored: nothing lost, nothing in between.
    expect((await stored('closing')) + left).toBe(500);
    await start({ sources: { closing: amqpSource({ url: RABBIT_URL, queue, prefetch: 50 }) } });
    await waitFor(async () => (await stored('closing')) === 500, { timeoutMs: 20_000 });
  });
});

withNats('natsSource', () => {
  let nc: NatsConnection;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await natsConnect({ servers: NATS_URL });
  });

  afterEach(async () => {
    const jsm = await nc.jetstreamManager();
    for (const s of streams.splice(0)) await jsm.streams.delete(s).catch(() => undefined);
  });

  afterAll(async () => {
    await nc.close();
  });

  async function stream(): Promise<{ name: string; subject: string }> {
    const name = `FLOWBUS_SRC_${unique().toUpperCase()}`;
    const subject = `flowbus.src.${unique()}`;
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name, subjects: [`${subject}.>`] });
    streams.push(name);
    return { name, subject };
  }

  it('round-trips what natsDestination wrote into a durable handler, with key and headers', async () => {
    const s = await stream();
    const app = await start({
      destinations: { nats: natsDestination({ servers: NATS_URL, subject: `${s.subject}.ping` }) },
      sources: { nats: natsSource({ servers: NATS_URL, stream: s.name, durable: 'shop' }) },
    });
    await expectRoundTrip(app, 'nats');
  });

  it('stores duplicates once, terminates poison with an advisory, and keeps going', async () => {
    const s = await stream();
    const advisories: string[] = [];
    const sub = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${s.name}.shop`, {
      callback: (_e, m) => advisories.push(m.string()),
    });
    await start({
      sources: {
        mapped: natsSource({
          servers: NATS_URL,
          stream: s.name,
          durable: 'shop',
          map: (raw) => {
            const body = raw.json() as { n: number };
            return { id: raw.headers['x-id'] ?? '', type: 'SourcePing', payload: body };
          },
        }),
      },
    });
    const js = nc.jetstream();
    const h = natsHeaders();
    h.set('x-id', 'one');
    for (let i = 0; i < 3; i++) await js.publish(`${s.subject}.x`, JSON.stringify({ n: 1 }), { headers: h });
    await js.publish(`${s.subject}.x`, 'not json');
    const h2 = natsHeaders();
    h2.set('x-id', 'two');
    await js.publish(`${s.subject}.x`, JSON.stringify({ n: 2 }), { headers: h2 });
    await waitFor(() => calls.length === 2, { timeoutMs: 10_000 });
    await waitFor(() => advisories.length === 1, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(calls.map((c) => c.n).sort()).toEqual([1, 2]);
    expect(await stored('mapped')).toBe(2);
    const info = await (await nc.jetstreamManager()).consumers.info(s.name, 'shop');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    sub.unsubscribe();
  });

  it('reconnects after the connection is cut and goes on receiving', async () => {
    const s = await stream();
    const proxy = await startTcpProxy(4222);
    try {
      await start({
        sources: {
          cutn: natsSource({
            servers: `nats://127.0.0.1:${proxy.port}`,
            stream: s.name,
            durable: 'shop',
            connectOptions: { reconnectTimeWait: 100 },
          }),
        },
      });
      const js = nc.jetstream();
      const publish = (n: number) => {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', randomUUID());
        h.set('Flowbus-Type', 'SourcePing');
        return js.publish(`${s.subject}.x`, JSON.stringify({ n }), { headers: h });
      };
      await publish(1);
      await waitFor(() => calls.length === 1, { timeoutMs: 10_000 });
      proxy.refuse();
      proxy.cut();
      await publish(2);
      await new Promise((r) => setTimeout(r, 300));
      proxy.accept();
      // The client reconnects within ~100 ms; its consumer re-pulls at once, or after one 5 s pull
      // expiry when that first re-pull fails. Generous here: a loaded CI machine is slow at both.
      await waitFor(() => calls.length === 2, { timeoutMs: 45_000 });
      expect(calls.map((c) => c.n)).toEqual([1, 2]);
    } finally {
      await Promise.all(apps.splice(0).map((a) => a.close()));
      await proxy.close();
    }
  }, 90_000);
});

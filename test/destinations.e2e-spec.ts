import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { connect as amqpConnect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { connect as natsConnect, type JetStreamManager, type NatsConnection } from 'nats';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  amqpDestination,
  DeliveryError,
  httpDestination,
  InvalidOptionsError,
  natsDestination,
  OutboxService,
  type DeliveryMessage,
  type Destination,
  type OutboxMessage,
} from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import { createFlowbusApp, deliveredRow as delivered } from './support/app.js';
import { NATS_URL, portOpen, RABBIT_URL } from './support/brokers.js';
import { useTestDatabase } from './support/database.js';

const rabbitUp = await portOpen(5672);
const natsUp = await portOpen(4222);
if (!rabbitUp)
  console.log('Skipping the AMQP destination tests: nothing listens on 127.0.0.1:5672 (start RabbitMQ to run them)');
if (!natsUp)
  console.log(
    'Skipping the NATS destination tests: nothing listens on 127.0.0.1:4222 (start nats-server -js to run them)',
  );
const withRabbit = rabbitUp ? describe : describe.skip;
const withNats = natsUp ? describe : describe.skip;

const unique = () => randomBytes(4).toString('hex');
const retryFast = { initialMs: 10, factor: 1, maxMs: 10, jitter: 'none' } as const;

const testDb = useTestDatabase();

/** Starts a Flowbus app with these destinations; the relay polls often so retries are quick. */
async function appWith(
  destinations: Record<string, Destination>,
): Promise<{ app: INestApplication; enqueue: (m: OutboxMessage) => Promise<string> }> {
  const app = await createFlowbusApp({
    dataSource: testDb.ds,
    options: { destinations, relay: { pollIntervalMs: 20, listen: false } },
  });
  const outbox = app.get(OutboxService);
  const enqueue = async (m: OutboxMessage) =>
    (await outbox.transaction((manager) => outbox.enqueue(manager, m)))[0] as string;
  return { app, enqueue };
}

interface OutboxRow {
  attempts: number;
  delivered_at: Date | null;
  errors: { attempt: number; name: string; message: string }[];
}
interface DeadLetterRow {
  attempts: number;
  errors: { attempt: number; name: string; message: string; code?: string }[];
  last_error: string;
}

const deliveredRow = (id: string) =>
  waitFor(() => delivered<OutboxRow>(testDb.ds, id), {
    message: `outbox row ${id} delivered`,
  });
const deadLetter = (id: string) =>
  waitFor(
    async () =>
      ((await testDb.ds.query('SELECT * FROM flowbus_dead_letter WHERE id = $1', [id])) as DeadLetterRow[])[0],
    {
      message: `dead letter ${id}`,
    },
  );

describe('httpDestination', () => {
  interface Received {
    path: string;
    headers: IncomingHttpHeaders;
    body: Record<string, unknown>;
  }
  type Answer = number | 'hang';
  const received: Received[] = [];
  /** Answers to give, per message id, in order; 200 once a script is used up. */
  const script = new Map<string, Answer[]>();
  const hanging: ServerResponse[] = [];
  let server: Server;
  let closedPort: number;
  let app: INestApplication;
  let enqueue: (m: OutboxMessage) => Promise<string>;

  const requestsFor = (id: string) => received.filter((r) => r.body.id === id);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        received.push({ path: req.url ?? '', headers: req.headers, body });
        const answer = script.get(body.id as string)?.shift() ?? 200;
        if (answer === 'hang') {
          hanging.push(res);
          return;
        }
        res
          .writeHead(answer, { 'content-type': 'text/plain' })
          .end(answer < 300 ? 'ok' : `refused: order id missing (${answer})`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port nobody listens on: bind one, note it, release it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    ({ app, enqueue } = await appWith({
      hook: httpDestination({
        url: `${base}/hook`,
        headers: { Authorization: 'Bearer s3cret' },
        backoff: retryFast,
        circuitBreaker: false,
      }),
      slow: httpDestination({ url: `${base}/slow`, timeoutMs: 200, backoff: retryFast, circuitBreaker: false }),
      down: httpDestination({
        url: `http://user:hunter2@127.0.0.1:${closedPort}/in?token=abc123`,
        maxAttempts: 2,
        backoff: retryFast,
        circuitBreaker: false,
      }),
    }));
  });

  afterAll(async () => {
    await app.close();
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('POSTs the message as JSON with the message id as Idempotency-Key', async () => {
    const id = await enqueue({
      destination: 'hook',
      type: 'OrderPlaced',
      key: 'order-1',
      payload: { orderId: 'o-1', total: 42 },
      headers: { tenant: 't1' },
    });
    const got = await waitFor(() => requestsFor(id)[0]);
    expect(got?.path).toBe('/hook');
    expect(got?.body).toEqual({
      id,
      type: 'OrderPlaced',
      key: 'order-1',
      payload: { orderId: 'o-1', total: 42 },
      // Flowbus adds the conversation id: a message enqueued outside any handler starts its own.
      headers: { tenant: 't1', 'correlation-id': id },
      createdAt: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(got?.body.createdAt as string))).toBe(false);
    expect(got?.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': id,
      'x-flowbus-message-id': id,
      'x-flowbus-type': 'OrderPlaced',
      'x-flowbus-key': 'order-1',
      'x-flowbus-attempt': '1',
      'x-flowbus-header-tenant': 't1',
      authorization: 'Bearer s3cret',
    });
    expect((await deliveredRow(id)).attempts).toBe(0);
  });

  it('retries a 500 and delivers on the next attempt with the same Idempotency-Key', async () => {
    const id = randomUUID();
    script.set(id, [500, 200]);
    await enqueue({ id, destination: 'hook', type: 'Charge', payload: { n: 1 } });
    const row = await deliveredRow(id);
    expect(row.attempts).toBe(1);
    expect(row.errors).toHaveLength(1);
    expect(row.errors[0]).toMatchObject({ attempt: 1, name: 'DeliveryError' });
    expect(row.errors[0]?.message).toContain('answered 500');
    expect(row.errors[0]?.message).toContain('order id missing');
    const requests = requestsFor(id);
    expect(requests.map((r) => r.headers['idempotency-key'])).toEqual([id, id]);
    expect(requests.map((r) => r.headers['x-flowbus-attempt'])).toEqual(['1', '2']);
  });

  it('dead-letters a 400 at once, with the status and the body in the error history', async () => {
    const id = randomUUID();
    script.set(id, [400, 200]);
    await enqueue({ id, destination: 'hook', type: 'Charge', payload: { n: 2 } });
    const dead = await deadLetter(id);
    expect(dead.attempts).toBe(1);
    expect(dead.errors).toHaveLength(1);
    expect(dead.errors[0]).toMatchObject({ attempt: 1, name: 'NonRetryableError', code: 'FLOWBUS_NON_RETRYABLE' });
    expect(dead.errors[0]?.message).toMatch(/answered 400 Bad Request: refused: order id missing \(400\)/);
    expect(requestsFor(id)).toHaveLength(1);
    expect(await testDb.ds.query('SELECT 1 FROM flowbus_outbox WHERE id = $1', [id])).toHaveLength(0);
  });

  it('does not follow a redirect (a POST would turn into a GET): dead-letters it naming the status', async () => {
    const id = randomUUID();
    script.set(id, [302, 200]);
    await enqueue({ id, destination: 'hook', type: 'Charge', payload: { n: 6 } });
    const dead = await deadLetter(id);
    expect(dead.attempts).toBe(1);
    expect(dead.last_error).toContain('answered 302 Found');
    expect(requestsFor(id)).toHaveLength(1);
  });

  it('retries 429 and 408 like a 5xx', async () => {
    const id = randomUUID();
    script.set(id, [429, 408, 204]);
    await enqueue({ id, destination: 'hook', type: 'Charge', payload: { n: 3 } });
    const row = await deliveredRow(id);
    expect(row.attempts).toBe(2);
    expect(row.errors.map((e) => e.message.match(/answered (\d+)/)?.[1])).toEqual(['429', '408']);
    expect(requestsFor(id)).toHaveLength(3);
  });

  it('counts a receiver that never answers as a failed attempt after timeoutMs, and retries', async () => {
    const id = randomUUID();
    script.set(id, ['hang', 200]);
    await enqueue({ id, destination: 'slow', type: 'Charge', payload: { n: 4 } });
    const row = await deliveredRow(id);
    expect(row.attempts).toBe(1);
    expect(row.errors[0]?.message).toBe(
      `POST http://127.0.0.1:${(server.address() as AddressInfo).port}/slow timed out after 200 ms`,
    );
    expect(requestsFor(id).map((r) => r.path)).toEqual(['/slow', '/slow']);
  });

  it('sends credentials of the URL as Basic auth', async () => {
    const port = (server.address() as AddressInfo).port;
    // A destination name of its own: a name is one destination for every app on the database.
    const { app: other, enqueue: enqueueOther } = await appWith({
      authHook: httpDestination({ url: `http://flow%40bus:p%3Ass@127.0.0.1:${port}/auth?v=1` }),
    });
    try {
      const id = await enqueueOther({ destination: 'authHook', type: 'Auth', payload: {} });
      const got = await waitFor(() => requestsFor(id)[0]);
      expect(got.path).toBe('/auth?v=1');
      expect(got.headers.authorization).toBe(`Basic ${Buffer.from('flow@bus:p:ss').toString('base64')}`);
    } finally {
      await other.close();
    }
  });

  it('retries network errors up to the destination maxAttempts, without leaking URL credentials into errors', async () => {
    const id = await enqueue({ destination: 'down', type: 'Charge', payload: { n: 5 } });
    const dead = await deadLetter(id);
    expect(dead.attempts).toBe(2);
    expect(dead.errors.map((e) => e.name)).toEqual(['DeliveryError', 'DeliveryError']);
    expect(dead.last_error).toContain(`POST http://127.0.0.1:${closedPort}/in failed`);
    expect(dead.last_error).toContain('ECONNREFUSED');
    expect(JSON.stringify(dead)).not.toMatch(/hunter2|abc123/);
  });

  it('dead-letters a message whose header cannot be an HTTP header', async () => {
    const id = await enqueue({ destination: 'hook', type: 'Charge', payload: {}, headers: { 'bad name': 'x' } });
    const dead = await deadLetter(id);
    expect(dead.attempts).toBe(1);
    expect(dead.last_error).toContain('"bad name"');
    expect(requestsFor(id)).toHaveLength(0);
  });

  it('validates its options when created, naming the field', () => {
    const field = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionsError);
        return (error as InvalidOptionsError).field;
      }
      throw new Error('no error thrown');
    };
    expect(field(() => httpDestination({ url: 'ftp://example.com/x' }))).toBe('httpDestination.url');
    expect(field(() => httpDestination({ url: 'not a url' }))).toBe('httpDestination.url');
    expect(field(() => httpDestination(undefined as never))).toBe('httpDestination.url');
    expect(field(() => httpDestination({ url: 'https://example.com', timeoutMs: 0 }))).toBe(
      'httpDestination.timeoutMs',
    );
    expect(field(() => httpDestination({ url: 'https://example.com', timeoutMs: 1.5 }))).toBe(
      'httpDestination.timeoutMs',
    );
    expect(field(() => httpDestination({ url: 'https://example.com', headers: { 'Idempotency-Key': 'x' } }))).toBe(
      'httpDestination.headers.Idempotency-Key',
    );
    expect(field(() => httpDestination({ url: 'https://example.com', headers: { 'X-Trace': 'a\r\nb' } }))).toBe(
      'httpDestination.headers.X-Trace',
    );
    expect(field(() => httpDestination({ url: 'https://example.com', timeout: 5 } as never))).toBe(
      'httpDestination.timeout',
    );
    expect(
      field(() => httpDestination({ url: 'https://u:p@example.com', headers: { authorization: 'Bearer x' } })),
    ).toBe('httpDestination.headers.Authorization');
    expect(field(() => amqpDestination({ url: 'http://localhost', exchange: 'x' }))).toBe('amqpDestination.url');
    expect(field(() => amqpDestination({ url: RABBIT_URL } as never))).toBe('amqpDestination.exchange');
    expect(field(() => amqpDestination({ url: RABBIT_URL, exchange: 'x', exchangeType: 'queue' as never }))).toBe(
      'amqpDestination.exchangeType',
    );
    expect(field(() => natsDestination({ servers: [], subject: 'a' }))).toBe('natsDestination.servers');
    expect(field(() => natsDestination({ servers: NATS_URL, subject: 'orders.*' }))).toBe('natsDestination.subject');
    expect(field(() => natsDestination({ servers: NATS_URL, subject: (m) => m.type, stream: 'S' }))).toBe(
      'natsDestination.streamSubjects',
    );
    expect(field(() => natsDestination({ servers: NATS_URL, subject: 'a', stream: 'has.dot' }))).toBe(
      'natsDestination.stream',
    );
  });

  it('carries the relay overrides, which the module validates at bootstrap', async () => {
    const d = httpDestination({
      url: 'https://example.com',
      maxAttempts: 3,
      backoff: { initialMs: 5 },
      circuitBreaker: false,
    });
    expect(d).toMatchObject({ maxAttempts: 3, backoff: { initialMs: 5 }, circuitBreaker: false });
    await expect(appWith({ bad: httpDestination({ url: 'https://example.com', maxAttempts: 0 }) })).rejects.toThrow(
      'destinations.bad.maxAttempts',
    );
  });
});

describe('amqpDestination and natsDestination without a reachable server', () => {
  it('start anyway and fail deliveries with a retryable DeliveryError', async () => {
    const message = testMessage('Nowhere');
    for (const d of [
      amqpDestination({ url: 'amqp://guest:guest@127.0.0.1:1', exchange: 'x' }),
      natsDestination({ servers: 'nats://127.0.0.1:1', subject: 'x', connectOptions: { reconnect: false } }),
    ]) {
      await d.init?.();
      const error = await d.deliver(message).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as Error).message).toContain('127.0.0.1:1');
      expect((error as Error).message).not.toContain('guest:guest');
      await d.close?.();
    }
  });
});

function testMessage(type: string, overrides: Partial<DeliveryMessage> = {}): DeliveryMessage {
  return {
    id: randomUUID(),
    destination: 'direct',
    subscriber: '',
    type,
    key: null,
    payload: { direct: true },
    headers: {},
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  };
}

withRabbit('amqpDestination (RabbitMQ on 127.0.0.1:5672)', () => {
  const exchange = `flowbus-test-${unique()}`;
  const missingExchange = `flowbus-test-missing-${unique()}`;
  const received: ConsumeMessage[] = [];
  let connection: ChannelModel;
  let channel: Channel;
  let queue: string;
  let app: INestApplication;
  let enqueue: (m: OutboxMessage) => Promise<string>;

  const consume = async (source: string, pattern: string) => {
    const q = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(q.queue, source, pattern);
    await channel.consume(q.queue, (m) => m && received.push(m), { noAck: true });
    return q.queue;
  };
  const receivedWith = (id: string) =>
    waitFor(() => received.find((m) => m.properties.messageId === id), { message: `AMQP message ${id}` });

  beforeAll(async () => {
    ({ app, enqueue } = await appWith({ rabbit: amqpDestination({ url: RABBIT_URL, exchange, backoff: retryFast }) }));
    connection = await amqpConnect(RABBIT_URL);
    channel = await connection.createChannel();
    // The destination declared the exchange when the relay started.
    queue = await consume(exchange, '#');
  });

  afterAll(async () => {
    await app?.close();
    await channel?.deleteExchange(exchange);
    await channel?.deleteExchange(missingExchange);
    await connection?.close();
  });

  it('publishes a persistent JSON message with the message id, type and headers, confirmed by the broker', async () => {
    const id = await enqueue({
      destination: 'rabbit',
      type: 'OrderPlaced',
      key: 'order-7',
      payload: { orderId: 'o-7' },
      headers: { tenant: 't1' },
    });
    const m = await receivedWith(id);
    expect(m.fields).toMatchObject({ exchange, routingKey: 'OrderPlaced' });
    expect(m.properties).toMatchObject({
      messageId: id,
      type: 'OrderPlaced',
      deliveryMode: 2,
      contentType: 'application/json',
      headers: { tenant: 't1', 'flowbus-key': 'order-7' },
    });
    expect(typeof m.properties.timestamp).toBe('number');
    expect(JSON.parse(m.content.toString('utf8'))).toEqual({ orderId: 'o-7' });
    expect((await deliveredRow(id)).attempts).toBe(0);
    expect(queue).toBeTruthy();
  });

  it('fails a publish the broker refuses, and reconnects on the next delivery', async () => {
    const d = amqpDestination({
      url: RABBIT_URL,
      exchange: missingExchange,
      assertExchange: false,
      routingKey: (m) => `r.${m.type}`,
    });
    await d.init?.();
    try {
      // No such exchange: RabbitMQ closes the channel (404) instead of confirming.
      const error = await d.deliver(testMessage('First')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as Error).message).toMatch(/NOT_FOUND|404|closed/);
      await channel.assertExchange(missingExchange, 'topic', { durable: false });
      await consume(missingExchange, 'r.#');
      const second = testMessage('Second');
      await d.deliver(second);
      expect((await receivedWith(second.id)).fields.routingKey).toBe('r.Second');
    } finally {
      await d.close?.();
    }
  });

  it('with mandatory, fails a message no queue is bound for instead of dropping it', async () => {
    const d = amqpDestination({ url: RABBIT_URL, exchange, routingKey: 'nobody.listens', mandatory: true });
    await d.init?.();
    try {
      await channel.unbindQueue(queue, exchange, '#');
      await expect(d.deliver(testMessage('Lost'))).rejects.toThrow('no queue is bound');
    } finally {
      await channel.bindQueue(queue, exchange, '#');
      await d.close?.();
    }
  });
});

withNats('natsDestination (NATS JetStream on 127.0.0.1:4222)', () => {
  const stream = `FLOWBUS_TEST_${unique()}`;
  const subject = `flowbus.test.${unique()}`;
  const destination = natsDestination({ servers: NATS_URL, subject, stream, backoff: retryFast });
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let app: INestApplication;
  let enqueue: (m: OutboxMessage) => Promise<string>;

  beforeAll(async () => {
    ({ app, enqueue } = await appWith({ nats: destination }));
    nc = await natsConnect({ servers: NATS_URL });
    jsm = await nc.jetstreamManager();
  });

  afterAll(async () => {
    await app?.close();
    await jsm?.streams
      .delete(stream)
      .catch((e: unknown) => console.warn(`Could not delete stream ${stream}: ${String(e)}`));
    await nc?.close();
  });

  it('creates the stream and publishes with Nats-Msg-Id = message id', async () => {
    const id = await enqueue({
      destination: 'nats',
      type: 'OrderPlaced',
      key: 'order-9',
      payload: { orderId: 'o-9' },
      headers: { tenant: 't1' },
    });
    await deliveredRow(id);
    const info = await jsm.streams.info(stream);
    expect(info.config.subjects).toEqual([subject]);
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    expect(stored.header.get('Nats-Msg-Id')).toBe(id);
    expect(stored.header.get('Flowbus-Type')).toBe('OrderPlaced');
    expect(stored.header.get('Flowbus-Key')).toBe('order-9');
    expect(stored.header.get('tenant')).toBe('t1');
    expect(JSON.parse(Buffer.from(stored.data).toString('utf8'))).toEqual({ orderId: 'o-9' });
  });

  it('stores a message delivered twice with the same id once (JetStream dedup)', async () => {
    const before = (await jsm.streams.info(stream)).state.messages;
    const message = testMessage('Twice');
    await destination.deliver(message);
    await destination.deliver({ ...message, attempts: 1 });
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(before + 1);
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    expect(stored.header.get('Nats-Msg-Id')).toBe(message.id);
  });
});

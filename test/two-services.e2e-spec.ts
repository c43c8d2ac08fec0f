import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  amqpDestination,
  natsSource,
  OutboxService,
  Saga,
  SagaService,
  SagaStep,
  type SagaContext,
} from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import { connect as natsConnect } from 'nats';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { NATS_URL, portOpen, RABBIT_URL } from './support/brokers.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { OrderPlaced, OrderShipped, type TwoServicesConfig } from './two-services/events.js';

const brokersUp = (await portOpen(5672)) && (await portOpen(4222));
if (!brokersUp) {
  console.log(
    'Skipping the two-services test: it needs RabbitMQ on 127.0.0.1:5672 and NATS JetStream on 127.0.0.1:4222',
  );
}
const withBrokers = brokersUp ? describe : describe.skip;

const REGISTER = fileURLToPath(new URL('./reliability/support/register-ts.mjs', import.meta.url));
const SHIPPING = fileURLToPath(new URL('./two-services/shipping.fixture.ts', import.meta.url));
const ORDERS = 40;

interface CheckoutState {
  shipped: number;
  shipmentNo?: number;
}

/** Service A's saga: starts with the order, asks B (through the outbox, to RabbitMQ) and ends on B's reply. */
@Saga({ name: 'checkout', initialState: (): CheckoutState => ({ shipped: 0 }) })
@Injectable()
class Checkout {
  @SagaStep(OrderPlaced, { start: true, correlate: (e: OrderPlaced) => e.orderId })
  placed(e: OrderPlaced, ctx: SagaContext<CheckoutState>) {
    ctx.send('orders', OrderPlaced.eventType, { orderId: e.orderId });
  }

  @SagaStep(OrderShipped, { correlate: (e: OrderShipped) => e.orderId })
  shipped(e: OrderShipped, ctx: SagaContext<CheckoutState>) {
    ctx.state.shipped++;
    ctx.state.shipmentNo = e.shipmentNo;
    ctx.complete();
  }
}

/** Service B as a child process, killable with SIGKILL. */
async function startShipping(config: TwoServicesConfig): Promise<ChildProcess> {
  const child = fork(SHIPPING, [], {
    execArgv: ['--import', REGISTER],
    env: { ...process.env, TWO_SERVICES: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('service B did not start within 30 s')), 30_000);
    child.on('message', (m: { event?: string }) => {
      if (m.event === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`service B exited (${code}) before it was ready`)));
  });
  return child;
}

withBrokers('two services over RabbitMQ and NATS JetStream', () => {
  const id = randomBytes(4).toString('hex');
  let dbA: TestDatabase;
  let dbB: TestDatabase;
  let dsA: DataSource;
  let b: pg.Client;
  let app: INestApplication;
  let amqp: ChannelModel;
  let tap: Channel;
  let shipping: ChildProcess | undefined;
  const config = {} as TwoServicesConfig;

  beforeAll(async () => {
    dbA = await createTestDatabase('flowbus_svc_a');
    dbB = await createTestDatabase('flowbus_svc_b');
    dsA = await dbA.dataSource();
    Object.assign(config, {
      databaseUrl: dbB.url,
      rabbitUrl: RABBIT_URL,
      natsUrl: NATS_URL,
      exchange: `flowbus.two.${id}`,
      queue: `flowbus.two.${id}.shipping`,
      stream: `FLOWBUS_TWO_${id.toUpperCase()}`,
      subject: `flowbus.two.${id}`,
    });
    const nc = await natsConnect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.add({ name: config.stream, subjects: [`${config.subject}.>`] });
    await nc.close();
  });

  afterAll(async () => {
    shipping?.kill('SIGKILL');
    await app?.close();
    await tap?.deleteQueue(`${config.queue}.tap`).catch(() => undefined);
    for (const q of [config.queue, `${config.queue}.dead-letter`]) await tap?.deleteQueue(q).catch(() => undefined);
    await tap?.deleteExchange(config.exchange).catch(() => undefined);
    await amqp?.close();
    const nc = await natsConnect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(config.stream).catch(() => undefined);
    await nc.close();
    await b?.end();
    await dsA?.destroy();
    await dbA?.drop();
    await dbB?.drop();
  });

  it('ends every saga once, with duplicates injected and service B killed mid-way', async () => {
    // Service A: its saga sends OrderPlaced through its outbox to RabbitMQ and receives B's replies from NATS.
    app = await createFlowbusApp({
      dataSource: dsA,
      options: {
        relay: { pollIntervalMs: 100 },
        destinations: { orders: amqpDestination({ url: RABBIT_URL, exchange: config.exchange }) },
        sources: { shipping: natsSource({ servers: NATS_URL, stream: config.stream, durable: 'shop' }) },
      },
      providers: [Checkout],
    });
    shipping = await startShipping(config);

    // Duplicates: every OrderPlaced A publishes goes to the exchange a second time, same message id.
    amqp = await amqpConnect(RABBIT_URL);
    tap = await amqp.createChannel();
    await tap.assertQueue(`${config.queue}.tap`, { autoDelete: true });
    await tap.bindQueue(`${config.queue}.tap`, config.exchange, OrderPlaced.eventType);
    let duplicated = 0;
    await tap.consume(`${config.queue}.tap`, (msg) => {
      if (!msg) return;
      tap.ack(msg);
      if (msg.properties.headers?.['x-duplicate']) return;
      duplicated++;
      tap.publish(config.exchange, msg.fields.routingKey, msg.content, {
        ...msg.properties,
        headers: { ...msg.properties.headers, 'x-duplicate': '1' },
      });
    });

    b = new pg.Client({ connectionString: dbB.url });
    await b.connect();
    const shipments = async () => Number((await b.query('SELECT count(*) AS n FROM shipment')).rows[0].n);

    const outbox = app.get(OutboxService);
    const orderIds = Array.from({ length: ORDERS }, () => randomUUID());
    for (const orderId of orderIds) {
      await outbox.transaction((m) => outbox.publish(m, Object.assign(new OrderPlaced(), { orderId })));
    }

    // Kill B while it works through the orders; a new B picks up where the broker left off.
    await waitFor(async () => (await shipments()) >= ORDERS / 4, { timeoutMs: 30_000, intervalMs: 5 });
    shipping.kill('SIGKILL');
    await new Promise((resolve) => shipping!.once('exit', resolve));
    shipping = await startShipping(config);

    const sagas = app.get(SagaService);
    await waitFor(
      async () => (await sagas.list({ name: 'checkout', status: 'completed', limit: 500 })).length === ORDERS,
      { timeoutMs: 45_000, message: `all ${ORDERS} checkout sagas completed` },
    );

    // Every saga ended once, and no effect happened twice.
    const done = await sagas.list({ name: 'checkout', limit: 500 });
    expect(done).toHaveLength(ORDERS);
    for (const saga of done) {
      expect(saga.status).toBe('completed');
      expect((saga.state as unknown as CheckoutState).shipped).toBe(1);
    }
    expect(await shipments()).toBe(ORDERS);
    const perOrder = await b.query('SELECT order_id FROM shipment GROUP BY order_id HAVING count(*) > 1');
    expect(perOrder.rows).toEqual([]);
    const bSagas = await b.query(`SELECT status, count(*)::int AS n FROM flowbus_saga GROUP BY status`);
    expect(bSagas.rows).toEqual([{ status: 'completed', n: ORDERS }]);
    // Each shipment number B replied with is the one A's saga recorded.
    const numbers = new Map((await b.query('SELECT order_id, no FROM shipment')).rows.map((r) => [r.order_id, r.no]));
    for (const saga of done)
      expect((saga.state as unknown as CheckoutState).shipmentNo).toBe(numbers.get(saga.correlationId));
    // The duplicates did reach B (and were recognised by their id).
    expect(duplicated).toBeGreaterThanOrEqual(ORDERS);
    expect(Number((await b.query('SELECT count(*) AS n FROM flowbus_received')).rows[0].n)).toBe(ORDERS);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { waitFor } from 'nestjs-flowbus/testing';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { AppModule } from '../apps/demo/src/app.module.js';
import { configureApp } from '../apps/demo/src/configure-app.js';
import type { DemoOptions } from '../apps/demo/src/demo-options.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * The order-fulfilment demo end to end, as `npm start` runs it but on a database of its own and
 * with short timeouts: real PostgreSQL, the real relay, and the shipping webhook reached over
 * real HTTP on a real port.
 */

const TOKEN = 'demo-e2e-admin-token-0123456789';
const WEBHOOK_SECRET = 'demo-e2e-webhook-secret';
const PAYMENT_TIMEOUT_MS = 1500;

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
let options: DemoOptions;

/** Boots the demo's AppModule the way main.ts does (Swagger included) and listens on `port`. */
async function boot(port: number): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(options)] }).compile();
  const nest = moduleRef.createNestApplication({ logger: process.env.FLOWBUS_TEST_LOGS ? undefined : false });
  configureApp(nest);
  await nest.init();
  await nest.listen(port, '127.0.0.1');
  return nest;
}

beforeAll(async () => {
  db = await createTestDatabase('flowbus_demo');
  ds = await db.dataSource();
  const port = await freePort();
  options = {
    databaseUrl: db.url,
    selfUrl: `http://127.0.0.1:${port}`,
    adminToken: TOKEN,
    webhookSecret: WEBHOOK_SECRET,
    paymentTimeoutMs: PAYMENT_TIMEOUT_MS,
    slowDelayMs: 100,
    flowbus: {
      relay: {
        pollIntervalMs: 50,
        listen: false,
        maxAttempts: 1000,
        backoff: { initialMs: 50, maxMs: 200, jitter: 'none' },
      },
      timeouts: { pollIntervalMs: 50 },
    },
    shipping: {
      timeoutMs: 2000,
      backoff: { initialMs: 50, maxMs: 200, jitter: 'none' },
      circuitBreaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 300, timeoutMs: 3000 },
    },
  };
  app = await boot(port);
});

afterEach(async () => {
  for (const service of ['payment', 'inventory', 'shipping']) {
    await http().post(`/simulate/${service}`).send({ mode: 'ok' }).expect(200);
  }
});

afterAll(async () => {
  await app?.close();
  await ds?.destroy();
  await db?.drop();
});

const http = () => request(app.getHttpServer());
const admin = (path: string) => http().get(`/flowbus${path}`).set('Authorization', `Bearer ${TOKEN}`);

interface OrderView {
  id: string;
  status: string;
  reason: string | null;
  totalCents: number;
  saga: {
    status: string;
    reason: string | null;
    version: number;
    state: Record<string, unknown>;
    timeouts: { type: string; dueAt: string }[];
  } | null;
  payment: { status: string; amountCents: number; paymentId: string | null; note: string | null } | null;
  reservations: { sku: string; qty: number; status: string }[];
  shipment: { status: string; trackingNumber: string | null; requests: number } | null;
}

async function placeOrder(items: { sku: string; qty: number }[], customer = 'ada@example.com'): Promise<string> {
  const res = await http().post('/orders').send({ customer, items }).expect(201);
  expect(res.body).toMatchObject({ id: expect.any(String), status: 'placed', href: `/orders/${res.body.id}` });
  return res.body.id;
}

async function order(id: string): Promise<OrderView> {
  return (await http().get(`/orders/${id}`).expect(200)).body;
}

/** Waits until the order's saga has `status` and `check` holds; returns the order as it was then. */
function untilSaga(id: string, status: string, check: (o: OrderView) => boolean = () => true): Promise<OrderView> {
  return waitFor(
    async () => {
      const o = await order(id);
      return o.saga?.status === status && check(o) ? o : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 25, message: `saga of order ${id} to be ${status}` },
  );
}

async function setSwitch(service: string, mode: string): Promise<void> {
  await http().post(`/simulate/${service}`).send({ mode }).expect(200);
}

async function switches(): Promise<Record<string, { mode: string; calls: number; refused: number }>> {
  return (await http().get('/simulate').expect(200)).body;
}

async function available(sku: string): Promise<number> {
  const stock: { sku: string; available: number }[] = (await http().get('/stock').expect(200)).body;
  return stock.find((s) => s.sku === sku)!.available;
}

describe('the order-fulfilment saga', () => {
  it('happy path: charges, reserves, ships over HTTP, completes', async () => {
    const before = await available('KEYBOARD-MX');
    const id = await placeOrder([
      { sku: 'KEYBOARD-MX', qty: 1 },
      { sku: 'MOUSE-PRO', qty: 1 },
      { sku: 'KEYBOARD-MX', qty: 1 },
    ]);
    const o = await untilSaga(id, 'completed');
    expect(o).toMatchObject({ status: 'shipped', reason: null, totalCents: 2 * 8900 + 3900 });
    expect(o.saga!.timeouts).toEqual([]); // the payment timeout was cancelled when payment answered
    expect(o.saga!.state).toMatchObject({ stage: 'shipped', trackingNumber: o.shipment!.trackingNumber });
    expect(o.payment).toMatchObject({ status: 'charged', amountCents: 2 * 8900 + 3900, paymentId: expect.any(String) });
    expect(o.reservations).toEqual([
      { sku: 'KEYBOARD-MX', qty: 2, status: 'reserved' },
      { sku: 'MOUSE-PRO', qty: 1, status: 'reserved' },
    ]);
    expect(o.shipment).toMatchObject({ status: 'shipped', trackingNumber: expect.stringMatching(/^FBX-[0-9A-F]{8}$/) });
    expect(await available('KEYBOARD-MX')).toBe(before - 2);
  });

  it("shows the order's conversation in the admin API: placed → payment → inventory → shipping, one tree", async () => {
    const id = await placeOrder([{ sku: 'MOUSE-PRO', qty: 1 }]);
    await untilSaga(id, 'completed');
    const placed = (await admin('/outbox?type=OrderPlaced&limit=100').expect(200)).body.items.find(
      (m: { payload: { orderId: string } }) => m.payload.orderId === id,
    );
    expect(placed).toMatchObject({ correlationId: placed.id, causationId: null });
    const { body } = await admin(`/conversations/${placed.correlationId}`).expect(200);
    type Node = { id: string; type: string; causationId: string | null; status: string; subscriber: string };
    const messages = body.messages as Node[];
    const typeOf = new Map(messages.map((m) => [m.id, m.type]));
    // Each message names the one whose handler or step wrote it.
    const edges = messages.filter((m) => m.causationId).map((m) => `${typeOf.get(m.causationId!)} → ${m.type}`);
    expect(new Set(edges)).toEqual(
      new Set([
        'OrderPlaced → ChargePayment',
        'ChargePayment → PaymentSucceeded',
        'PaymentSucceeded → ReserveInventory',
        'ReserveInventory → InventoryReserved',
        'InventoryReserved → ShipOrder',
        'ShipOrder → OrderShipped',
      ]),
    );
    expect(messages.filter((m) => m.causationId === null).map((m) => m.type)).toEqual(['OrderPlaced']);
    expect(messages.every((m) => m.status === 'delivered')).toBe(true);
    expect(body.sagas).toEqual([`order-fulfillment/${id}`]);
    const timeline = (await admin(`/sagas/order-fulfillment/${id}/timeline`).expect(200)).body;
    expect(timeline.messages.map((m: Node) => m.type)).toEqual(
      expect.arrayContaining(['OrderPlaced', 'ChargePayment', 'PaymentSucceeded', 'ShipOrder', 'OrderShipped']),
    );
    await admin('/conversations/no-such-conversation').expect(404);
  });

  it('out of stock: InventoryFailed compensates, the payment is refunded, the stock is untouched', async () => {
    const id = await placeOrder([{ sku: 'MONITOR-27', qty: 4 }]);
    const o = await untilSaga(id, 'compensated');
    expect(o.saga!.reason).toBe('inventory failed: out of stock: MONITOR-27 (wanted 4, 3 available)');
    expect(o).toMatchObject({ status: 'cancelled', reason: o.saga!.reason, reservations: [], shipment: null });
    // The compensation (RefundPayment) went through the outbox with the compensating step.
    const refunded = await waitFor(async () => {
      const now = await order(id);
      return now.payment?.status === 'refunded' ? now : null;
    });
    expect(refunded.payment).toMatchObject({ amountCents: 4 * 24900, note: 'order cancelled' });
    expect(await available('MONITOR-27')).toBe(3);
  });

  it('shipping "fail": compensates both steps, the stock is released and the payment refunded', async () => {
    await setSwitch('shipping', 'fail');
    const before = await available('USB-C-CABLE');
    const id = await placeOrder([{ sku: 'USB-C-CABLE', qty: 5 }]);
    const o = await untilSaga(id, 'compensated');
    expect(o).toMatchObject({ status: 'cancelled', reason: 'shipping failed: carrier refused the parcel (simulated)' });
    expect(o.shipment).toMatchObject({ status: 'rejected', trackingNumber: null });
    const undone = await waitFor(async () => {
      const now = await order(id);
      return now.payment?.status === 'refunded' && now.reservations[0]?.status === 'released' ? now : null;
    });
    expect(undone.reservations).toEqual([{ sku: 'USB-C-CABLE', qty: 5, status: 'released' }]);
    expect(await available('USB-C-CABLE')).toBe(before);
  });

  it('payment "fail": the saga fails with the reason, nothing is reserved', async () => {
    await setSwitch('payment', 'fail');
    const id = await placeOrder([{ sku: 'MOUSE-PRO', qty: 1 }]);
    const o = await untilSaga(id, 'failed');
    expect(o.saga!.reason).toBe('payment failed: card declined (simulated)');
    expect(o).toMatchObject({ status: 'failed', reason: o.saga!.reason, reservations: [], shipment: null });
    expect(o.payment).toMatchObject({ status: 'declined' });
    expect(o.saga!.timeouts).toEqual([]);
  });

  it('payment "down": retried, the payment timeout fails the order, and a charge that lands late is refunded', async () => {
    await setSwitch('payment', 'down');
    const id = await placeOrder([{ sku: 'MOUSE-PRO', qty: 1 }]);
    const running = await untilSaga(id, 'running', (o) => o.saga!.timeouts.length === 1);
    expect(running.saga!.timeouts[0]!.type).toBe('PaymentTimeout');
    const failed = await untilSaga(id, 'failed');
    expect(failed.saga!.reason).toBe(
      `payment timed out: no answer from the payment service within ${PAYMENT_TIMEOUT_MS} ms`,
    );
    expect(failed).toMatchObject({ status: 'failed', payment: null, reservations: [] });
    // The relay kept retrying ChargePayment with backoff while the service was down.
    expect((await switches()).payment!.refused).toBeGreaterThanOrEqual(3);

    // Payment comes back: the retried charge goes through, then CancelPayment (same subscriber and
    // key, so strictly after it) refunds it. The saga stays failed.
    await setSwitch('payment', 'ok');
    const settled = await waitFor(async () => {
      const o = await order(id);
      return o.payment?.status === 'refunded' ? o : null;
    });
    expect(settled.payment!.note).toBe('late charge refunded: payment timed out');
    expect(settled.saga!.status).toBe('failed');
    expect(settled.reservations).toEqual([]);
  });

  it('shipping "down" over HTTP: 503s are retried, the breaker opens, and the order completes once it is back', async () => {
    await setSwitch('shipping', 'down');
    const id = await placeOrder([{ sku: 'KEYBOARD-MX', qty: 1 }]);
    await waitFor(async () => (await switches()).shipping!.refused >= 2, { message: 'shipping retries' });
    await waitFor(
      async () => {
        const breakers: { destination: string; state: string }[] = (await admin('/breakers').expect(200)).body;
        return breakers.find((b) => b.destination === 'shipping')?.state === 'open';
      },
      { message: 'the shipping breaker to open' },
    );
    const pending = (await admin('/outbox?destination=shipping&type=ShipOrder').expect(200)).body.items;
    const shipOrder = pending.find((m: { key: string }) => m.key === `order-fulfillment:${id}`);
    expect(shipOrder).toMatchObject({ status: expect.stringMatching(/pending|in-flight/) });
    expect(shipOrder.attempts).toBeGreaterThanOrEqual(2);
    expect(shipOrder.lastError).toContain('503');
    expect((await order(id)).status).toBe('stock-reserved');

    await setSwitch('shipping', 'ok');
    const o = await untilSaga(id, 'completed');
    expect(o).toMatchObject({ status: 'shipped', shipment: { status: 'shipped', requests: 1 } });
  });
});

describe('the API', () => {
  it.each([
    ['no customer', { items: [{ sku: 'MOUSE-PRO', qty: 1 }] }, 'customer should not be empty'],
    ['no items', { customer: 'ada' }, 'items must contain at least 1 elements'],
    ['empty items', { customer: 'ada', items: [] }, 'items must contain at least 1 elements'],
    [
      'a zero quantity',
      { customer: 'ada', items: [{ sku: 'MOUSE-PRO', qty: 0 }] },
      'items.0.qty must not be less than 1',
    ],
    [
      'a fractional quantity',
      { customer: 'ada', items: [{ sku: 'MOUSE-PRO', qty: 1.5 }] },
      'items.0.qty must be an integer',
    ],
    ['a missing sku', { customer: 'ada', items: [{ qty: 1 }] }, 'items.0.sku must be a string'],
    ['an unknown field', { customer: 'ada', items: [{ sku: 'MOUSE-PRO', qty: 1 }], coupon: 'x' }, 'property coupon'],
    [
      'an unknown SKU',
      {
        customer: 'ada',
        items: [
          { sku: 'MOUSE-PRO', qty: 1 },
          { sku: 'NOPE', qty: 1 },
        ],
      },
      'items.1.sku',
    ],
  ])('rejects an order with %s: 400 naming the field, nothing written', async (_case, body, message) => {
    const count = async () =>
      (await ds.query('SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM flowbus_outbox) AS n'))[0].n;
    const before = await count();
    const res = await http().post('/orders').send(body).expect(400);
    expect(JSON.stringify(res.body.message)).toContain(message);
    expect(await count()).toBe(before);
  });

  it('answers 400 for a bad id, 404 for an unknown order, 400 for a bad switch', async () => {
    await http().get('/orders/not-a-uuid').expect(400);
    await http().get('/orders/3b241101-e2bb-4255-8caf-4136c566a962').expect(404);
    const service = await http().post('/simulate/teleport').send({ mode: 'ok' }).expect(400);
    expect(JSON.stringify(service.body.message)).toContain('service must be one of');
    const mode = await http().post('/simulate/payment').send({ mode: 'broken' }).expect(400);
    expect(JSON.stringify(mode.body.message)).toContain('mode must be one of');
  });

  it('the shipping webhook refuses callers without the relay token, and answers a repeat without shipping twice', async () => {
    const id = await placeOrder([{ sku: 'USB-C-CABLE', qty: 1 }]);
    const shipped = await untilSaga(id, 'completed');
    const envelope = {
      id: randomUUID(),
      type: 'ShipOrder',
      key: `order-fulfillment:${id}`,
      payload: { orderId: id, customer: 'mallory', lines: [] },
      headers: {},
      createdAt: new Date().toISOString(),
    };
    const webhook = () => http().post('/simulated/shipping');
    await webhook().send(envelope).expect(401);
    await webhook().set('Authorization', 'Bearer not-the-secret').send(envelope).expect(401);
    const auth = `Bearer ${WEBHOOK_SECRET}`;
    await webhook()
      .set('Authorization', auth)
      .send({ ...envelope, type: 'CancelOrder' })
      .expect(400);

    // At least once: the relay may repeat a request that got through. The carrier ships once.
    const repeat = await webhook().set('Authorization', auth).send(envelope).expect(200);
    expect(repeat.body).toEqual({
      status: 'shipped',
      trackingNumber: shipped.shipment!.trackingNumber,
      duplicate: true,
    });
    const after = await order(id);
    expect(after.shipment).toMatchObject({ trackingNumber: shipped.shipment!.trackingNumber, requests: 2 });
    expect(after.saga!.version).toBe(shipped.saga!.version);
  });

  it('lists recent orders, newest first', async () => {
    const id = await placeOrder([{ sku: 'USB-C-CABLE', qty: 1 }], 'grace@example.com');
    const res = await http().get('/orders?limit=1').expect(200);
    expect(res.body).toEqual([expect.objectContaining({ id, customer: 'grace@example.com' })]);
    await untilSaga(id, 'completed'); // leave nothing in flight for the next test
  });

  it('serves /metrics in Prometheus text through OpenTelemetry, and /health', async () => {
    await untilSaga(await placeOrder([{ sku: 'MOUSE-PRO', qty: 1 }]), 'completed');
    const metrics = await http().get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(
      /^flowbus_deliveries_total\{[^}]*destination="local"[^}]*outcome="success"[^}]*\} [1-9]/m,
    );
    expect(metrics.text).toMatch(/^flowbus_delivery_duration_bucket\{[^}]*destination="shipping"[^}]*le="1"\} [1-9]/m);
    expect(metrics.text).toMatch(
      /^flowbus_saga_instances\{[^}]*saga="order-fulfillment"[^}]*status="completed"[^}]*\} [1-9]/m,
    );
    expect(metrics.text).toMatch(/^flowbus_breaker_state\{[^}]*destination="shipping"[^}]*\} 0/m);
    const health = await http().get('/health').expect(200);
    expect(health.body).toMatchObject({ status: 'ok', info: { flowbus: { status: 'up' } } });
  });

  it('serves the landing page, the Swagger UI (demo and Flowbus admin routes) and the dashboard', async () => {
    const landing = await http()
      .get('/')
      .expect(200)
      .expect('content-type', /text\/html/);
    expect(landing.text).toContain('Flowbus demo');
    expect(landing.headers['content-security-policy']).toContain("default-src 'none'");

    const docs = await http().get('/docs').expect(200);
    expect(docs.text).toContain('swagger-ui');
    const spec = (await http().get('/docs-json').expect(200)).body;
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/orders', '/orders/{id}', '/simulate/{service}', '/flowbus/stats', '/flowbus/sagas']),
    );

    const dashboard = await http()
      .get('/flowbus/')
      .expect(200)
      .expect('content-type', /text\/html/);
    expect(dashboard.text).toContain('Flowbus admin');
    await http().get('/flowbus/stats').expect(401);
    const stats = await admin('/stats').expect(200);
    expect(stats.body.sagas).toBeDefined();
  });

  it('keeps orders and stock across a restart on the same database', async () => {
    const id = await placeOrder([{ sku: 'MONITOR-27', qty: 1 }]);
    await untilSaga(id, 'completed');
    const port = Number(new URL(options.selfUrl).port);
    await app.close();
    app = await boot(port);
    expect((await order(id)).status).toBe('shipped');
    expect(await available('MONITOR-27')).toBe(2); // not reseeded
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

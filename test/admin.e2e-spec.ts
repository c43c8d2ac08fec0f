import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Catch,
  Injectable,
  Module,
  ValidationPipe,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SwaggerModule, DocumentBuilder } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { FlowbusModule, OutboxService } from 'nestjs-flowbus';
import { FlowbusAdminModule } from 'nestjs-flowbus/admin';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import {
  ADMIN_TOKEN,
  adminApi,
  createAdminApp,
  deadLetters,
  enqueue,
  insertSaga,
  leaseElsewhere,
  SwitchableSink,
  truncateAll,
} from './support/admin-app.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { poolOf } from '../libs/flowbus/src/database/pg-pool.js';
import { LogReader } from '../libs/flowbus/src/outbox/log-reader.js';
import { RetentionService } from '../libs/flowbus/src/relay/retention.service.js';

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();

afterEach(async () => {
  await truncateAll(testDb.ds);
  await testDb.ds.query('TRUNCATE flowbus_relay, flowbus_subscriber');
});

async function start(
  options: Parameters<typeof createAdminApp>[1] = {},
  setup: Parameters<typeof createAdminApp>[2] = {},
) {
  const app = await createAdminApp(testDb.ds, options, setup);
  apps.push(app);
  return app;
}

/** An app with a sink destination; the relay is on unless `relay: false`. */
async function sinkApp(relay = true) {
  const sink = new SwitchableSink();
  const app = await start({ destinations: { sink, other: new SwitchableSink() }, relay: { enabled: relay } });
  return { app, sink, api: adminApi(app) };
}

const row = async (table: string, id: string) =>
  (await testDb.ds.query(`SELECT * FROM ${table} WHERE id = $1`, [id]))[0];
const future = () => new Date(Date.now() + 3_600_000);

/** Every admin API route, with a valid-looking request. */
const ROUTES: [method: 'get' | 'post' | 'delete', path: string][] = [
  ['get', '/stats'],
  ['get', '/outbox'],
  ['get', '/outbox/3b241101-e2bb-4255-8caf-4136c566a962'],
  ['post', '/outbox/3b241101-e2bb-4255-8caf-4136c566a962/retry'],
  ['get', '/dead-letters'],
  ['get', '/dead-letters/3b241101-e2bb-4255-8caf-4136c566a962'],
  ['post', '/dead-letters/3b241101-e2bb-4255-8caf-4136c566a962/requeue'],
  ['post', '/dead-letters/requeue'],
  ['delete', '/dead-letters/3b241101-e2bb-4255-8caf-4136c566a962'],
  ['get', '/sagas'],
  ['get', '/sagas/order/o-1'],
  ['get', '/sagas/order/o-1/timeline'],
  ['get', '/conversations/3b241101-e2bb-4255-8caf-4136c566a962'],
  ['get', '/history'],
  ['get', '/breakers'],
  ['delete', '/subscribers/local%3Aaudit'],
];

describe('GET /stats', () => {
  it('counts outbox rows per derived status and destination, dead letters, sagas and timeouts, breakers', async () => {
    const { app, api } = await sinkApp();
    await enqueue(
      app,
      [1, 2, 3].map((i) => ({ destination: 'sink', type: 'Done', payload: { i } })),
    );
    await waitFor(async () => (await api.get('/stats').expect(200)).body.outbox.delivered === 3);
    await deadLetters(app, testDb.ds, [
      { type: 'Bad', payload: {} },
      { type: 'Bad', payload: {} },
    ]);
    await deadLetters(app, testDb.ds, [{ type: 'Bad', payload: {} }], 'other');
    const waiting = await enqueue(app, [
      { destination: 'sink', type: 'Later', payload: {}, availableAt: future() },
      { destination: 'other', type: 'Later', payload: {}, availableAt: future() },
      { destination: 'other', type: 'Later', payload: {}, availableAt: future() },
    ]);
    // A row leased by a relay of another instance.
    await leaseElsewhere(testDb.ds, waiting[2]!, 'elsewhere', future());
    await insertSaga(testDb.ds, {
      name: 'order',
      correlationId: 'a',
      status: 'running',
      timeouts: [{ type: 'PaymentTimeout', dueAt: future() }],
    });
    await insertSaga(testDb.ds, { name: 'order', correlationId: 'b', status: 'running' });
    await insertSaga(testDb.ds, { name: 'order', correlationId: 'c', status: 'failed' });

    const res = await api.get('/stats').expect(200);
    expect(res.body.outbox).toMatchObject({ pending: 2, inFlight: 1, delivered: 3 });
    expect(res.body.outbox.byDestination).toEqual([
      {
        destination: 'other',
        pending: 1,
        inFlight: 1,
        delivered: 0,
        noSubscriberHere: 0,
        oldestPendingAgeMs: expect.any(Number),
      },
      {
        destination: 'sink',
        pending: 1,
        inFlight: 0,
        delivered: 3,
        noSubscriberHere: 0,
        oldestPendingAgeMs: expect.any(Number),
      },
    ]);
    expect(res.body.outbox.oldestPendingAgeMs).toEqual(expect.any(Number));
    expect(res.body.outbox.oldestPendingAgeMs).toBeGreaterThanOrEqual(0);
    expect(res.body.deadLetters).toEqual({
      total: 3,
      byDestination: [
        { destination: 'other', count: 1 },
        { destination: 'sink', count: 2 },
      ],
    });
    expect(res.body.sagas).toEqual({
      byStatus: { running: 2, completed: 0, compensating: 0, compensated: 0, failed: 1 },
      byName: [
        { name: 'order', status: 'failed', count: 1 },
        { name: 'order', status: 'running', count: 2 },
      ],
      timeoutsPending: 1,
    });
    expect(res.body.breakers).toEqual([]); // both sinks run without a breaker
    expect(Date.parse(res.body.at)).not.toBeNaN();
  });

  it('answers on empty tables with zeros and a null oldest age', async () => {
    const { api } = await sinkApp(false);
    const res = await api.get('/stats').expect(200);
    expect(res.body.outbox).toEqual({
      pending: 0,
      inFlight: 0,
      delivered: 0,
      noSubscriberHere: 0,
      oldestPendingAgeMs: null,
      byDestination: [],
      bySubscriber: [],
    });
    expect(res.body.deadLetters).toEqual({ total: 0, byDestination: [] });
  });
});

describe('outbox', () => {
  it('lists newest first with filters on status, destination and type', async () => {
    const { app, api } = await sinkApp();
    const a = await enqueue(app, { destination: 'sink', type: 'A', payload: { n: 1 } });
    await waitFor(async () => (await api.get(`/outbox/${a[0]}`).expect(200)).body.status === 'delivered');
    const b = await enqueue(app, {
      destination: 'other',
      type: 'B',
      payload: { n: 2 },
      key: 'k',
      availableAt: future(),
    });
    const c = await enqueue(app, { destination: 'sink', type: 'B', payload: { n: 3 }, availableAt: future() });
    await leaseElsewhere(testDb.ds, b[0]!, 'x', future());

    const all = await api.get('/outbox').expect(200);
    expect(all.body.items.map((m: { id: string }) => m.id)).toEqual([c[0], b[0], a[0]]);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items[1]).toMatchObject({
      destination: 'other',
      type: 'B',
      key: 'k',
      payload: { n: 2 },
      status: 'in-flight',
      attempts: 0,
      lockOwner: 'x',
    });
    expect(all.body.items[0]).not.toHaveProperty('seq');
    expect(all.body.items[0]).not.toHaveProperty('errors');

    const ids = async (q: string) =>
      (await api.get(`/outbox${q}`).expect(200)).body.items.map((m: { id: string }) => m.id);
    expect(await ids('?status=delivered')).toEqual(a);
    expect(await ids('?status=in-flight')).toEqual(b);
    expect(await ids('?status=pending')).toEqual(c);
    expect(await ids('?destination=sink')).toEqual([c[0], a[0]]);
    expect(await ids('?type=B&destination=sink')).toEqual(c);
    expect(await ids('?type=nothing')).toEqual([]);
  });

  it('pages with an opaque cursor, stable while rows are inserted between pages', async () => {
    const { app, api } = await sinkApp(false);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(...(await enqueue(app, { destination: 'sink', type: 'T', payload: { i } })));
    const newestFirst = [...ids].reverse();

    const p1 = await api.get('/outbox?limit=3').expect(200);
    expect(p1.body.items.map((m: { id: string }) => m.id)).toEqual(newestFirst.slice(0, 3));
    expect(p1.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    // New rows arrive while the operator pages: they belong before page 1, not in later pages.
    await enqueue(
      app,
      [1, 2].map((i) => ({ destination: 'sink', type: 'T', payload: { late: i } })),
    );
    const p2 = await api.get(`/outbox?limit=3&cursor=${p1.body.nextCursor}`).expect(200);
    expect(p2.body.items.map((m: { id: string }) => m.id)).toEqual(newestFirst.slice(3, 6));
    const p3 = await api.get(`/outbox?limit=3&cursor=${p2.body.nextCursor}`).expect(200);
    expect(p3.body.items.map((m: { id: string }) => m.id)).toEqual(newestFirst.slice(6));
    expect(p3.body.nextCursor).toBeNull();
    // The default page size is 50.
    expect((await api.get('/outbox').expect(200)).body.items).toHaveLength(9);
  });

  it('shows one message with its error history; unknown id is 404', async () => {
    const { app, sink, api } = await sinkApp();
    sink.failWith = () => new Error('503 from downstream');
    const [id] = await start_backoff(app);
    await waitFor(async () => (await row('flowbus_outbox', id!)).attempts === 1);
    const res = await api.get(`/outbox/${id}`).expect(200);
    expect(res.body).toMatchObject({ id, status: 'pending', attempts: 1, lastError: 'Error: 503 from downstream' });
    expect(res.body.errors).toEqual([
      expect.objectContaining({ attempt: 1, name: 'Error', message: '503 from downstream' }),
    ]);
    const missing = await api.get('/outbox/00000000-0000-4000-8000-000000000000').expect(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found', code: 'FLOWBUS_NOT_FOUND' });
    expect(missing.body.message).toContain('00000000-0000-4000-8000-000000000000');
  });

  it('retry makes a backing-off message due now and the relay delivers it; delivered is 409, leased 409, unknown 404', async () => {
    const { app, sink, api } = await sinkApp();
    let fail = true;
    sink.failWith = () => (fail ? new Error('temporarily down') : undefined);
    const [id] = await start_backoff(app);
    const failed = await waitFor(async () =>
      (await row('flowbus_outbox', id!)).attempts === 1 ? row('flowbus_outbox', id!) : undefined,
    );
    expect(new Date(failed.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 30_000); // backing off for a minute
    fail = false;
    const res = await api.post(`/outbox/${id}/retry`).expect(200);
    expect(res.body).toMatchObject({ id, status: 'pending' });
    expect(new Date(res.body.nextAttemptAt).getTime()).toBeLessThanOrEqual(Date.now());
    await waitFor(() => sink.ids().includes(id!), { message: 'delivery after retry' });
    await waitFor(async () => (await row('flowbus_outbox', id!)).delivered_at !== null);
    const again = await api.post(`/outbox/${id}/retry`).expect(409);
    expect(again.body).toMatchObject({ statusCode: 409, code: 'FLOWBUS_CONFLICT' });
    expect(again.body.message).toMatch(/delivered/);

    const [leased] = await enqueue(app, { destination: 'sink', type: 'T', payload: {}, availableAt: future() });
    await leaseElsewhere(testDb.ds, leased!, 'elsewhere', future());
    expect((await api.post(`/outbox/${leased}/retry`).expect(409)).body.message).toMatch(/being delivered/);
    await api.post('/outbox/00000000-0000-4000-8000-000000000000/retry').expect(404);
  });
});

describe('outbox on the log storage', () => {
  it('lists, after the log rows, the retry rows whose log row is gone, paging across both with the cursor', async () => {
    // Written by the table storage, never delivered (relay off): after the switch to the log they
    // are retry rows in flowbus_outbox with no log row.
    const table = await start({
      destinations: { sink: new SwitchableSink() },
      relay: { storage: 'table', enabled: false },
    });
    const before = await enqueue(
      table,
      [0, 1, 2, 3].map((i) => ({ destination: 'sink', type: i === 1 ? 'Old' : 'T', payload: { i } })),
    );
    await table.close();
    apps.splice(apps.indexOf(table), 1);
    const app = await start({
      destinations: { sink: new SwitchableSink() },
      relay: { storage: 'log', enabled: false },
    });
    const api = adminApi(app);
    const after = await enqueue(
      app,
      [0, 1, 2].map((i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    const newestFirst = [...after].reverse().concat([...before].reverse());

    const all = await api.get('/outbox').expect(200);
    expect(all.body.items.map((m: { id: string }) => m.id)).toEqual(newestFirst);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items[3]).toMatchObject({ destination: 'sink', status: 'pending', attempts: 0, payload: { i: 3 } });
    expect(all.body.items[3]).not.toHaveProperty('seq');
    // Pages of every size give each message once, in the same order, across the log and the retries.
    for (const limit of [1, 2, 3, 4, 6, 7]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `/outbox?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await api.get(q).expect(200)).body as { items: { id: string }[]; nextCursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((m) => m.id));
        cursor = page.nextCursor;
      } while (cursor !== null && seen.length <= newestFirst.length);
      expect([limit, seen]).toEqual([limit, newestFirst]);
    }
    // The filters apply to both parts.
    const ids = async (q: string) =>
      (await api.get(`/outbox${q}`).expect(200)).body.items.map((m: { id: string }) => m.id);
    expect(await ids('?type=Old')).toEqual([before[1]]);
    expect(await ids('?type=T&status=pending&limit=50')).toEqual(newestFirst.filter((id) => id !== before[1]));
    expect(await ids('?status=delivered')).toEqual([]);
    expect((await api.get(`/outbox/${before[0]}`).expect(200)).body).toMatchObject({
      id: before[0],
      status: 'pending',
    });
  });
});

/** One message to `sink` that will back off for a minute after its first failure. */
function start_backoff(app: INestApplication) {
  return enqueue(app, { destination: 'sink', type: 'Charge', payload: { amount: 5 } });
}

describe('dead letters', () => {
  it('lists, filters, pages and shows the whole error history', async () => {
    const { app, api } = await sinkApp();
    const ids = await deadLetters(
      app,
      testDb.ds,
      [1, 2, 3, 4, 5].map((i) => ({ type: i % 2 ? 'Odd' : 'Even', payload: { i } })),
    );
    const [other] = await deadLetters(app, testDb.ds, [{ type: 'Odd', payload: {} }], 'other');
    const list = await api.get('/dead-letters?destination=sink').expect(200);
    expect(list.body.items).toHaveLength(5);
    expect(new Set(list.body.items.map((d: { id: string }) => d.id))).toEqual(new Set(ids));
    expect(list.body.items[0]).toMatchObject({
      destination: 'sink',
      attempts: 1,
      lastError: 'NonRetryableError: rejected ' + list.body.items[0].type,
    });
    expect(list.body.items[0]).not.toHaveProperty('errors');
    expect((await api.get('/dead-letters?type=Even').expect(200)).body.items).toHaveLength(2);
    expect(
      (await api.get('/dead-letters?destination=other&type=Odd').expect(200)).body.items.map(
        (d: { id: string }) => d.id,
      ),
    ).toEqual([other]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await api
        .get(`/dead-letters?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((d: { id: string }) => d.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen)).toEqual(new Set([...ids, other]));

    const detail = await api.get(`/dead-letters/${ids[0]}`).expect(200);
    expect(detail.body.errors).toEqual([
      expect.objectContaining({
        attempt: 1,
        name: 'NonRetryableError',
        code: 'FLOWBUS_NON_RETRYABLE',
        message: expect.stringMatching(/^rejected/),
      }),
    ]);
    await api.get('/dead-letters/00000000-0000-4000-8000-000000000000').expect(404);
  });

  it('requeue moves the dead letter back with its id, attempts reset, history kept, and the relay delivers it', async () => {
    const { app, sink, api } = await sinkApp();
    sink.reject = true;
    const [id] = await enqueue(app, {
      destination: 'sink',
      type: 'Charge',
      payload: { amount: 7 },
      key: 'order-1',
      headers: { h: '1' },
    });
    const dead = await waitFor(() => row('flowbus_dead_letter', id!));
    sink.reject = false;

    const res = await api.post(`/dead-letters/${id}/requeue`).expect(200);
    expect(res.body).toMatchObject({
      id,
      destination: 'sink',
      type: 'Charge',
      key: 'order-1',
      payload: { amount: 7 },
      headers: { h: '1' },
      attempts: 0,
    });
    expect(res.body.errors.map((e: { attempt: number; name: string }) => [e.attempt, e.name])).toEqual([
      [1, 'NonRetryableError'],
      [0, 'Requeued'],
    ]);
    expect(await row('flowbus_dead_letter', id!)).toBeUndefined();
    await waitFor(() => sink.ids().includes(id!), { message: 'redelivery of the requeued message' });
    const delivered = await waitFor(async () =>
      (await row('flowbus_outbox', id!))?.delivered_at ? row('flowbus_outbox', id!) : undefined,
    );
    expect(delivered.created_at).toEqual(dead.created_at);
    expect(sink.received.find((m) => m.id === id)).toMatchObject({ id, attempts: 0, payload: { amount: 7 } });

    // The row is no longer a dead letter: requeue again is 409, as is delete of it... which is 404.
    expect((await api.post(`/dead-letters/${id}/requeue`).expect(409)).body.message).toMatch(/requeued already/);
    await api.delete(`/dead-letters/${id}`).expect(404);
    await api.post('/dead-letters/00000000-0000-4000-8000-000000000000/requeue').expect(404);
  });

  it('concurrent requeues of one dead letter: exactly one 200, the others 409, one outbox row', async () => {
    const { api } = await sinkApp(false);
    // This app's relay is off, so requeued rows stay put; a second app's relay makes real dead letters.
    const relayApp = await start({ destinations: { sink: new SwitchableSink(), other: new SwitchableSink() } });
    const ids = await deadLetters(
      relayApp,
      testDb.ds,
      Array.from({ length: 8 }, (_, i) => ({ type: 'T', payload: { i } })),
    );
    await relayApp.close(); // its relay would deliver the requeued rows (and dead-letter them again)
    apps.splice(apps.indexOf(relayApp), 1);
    for (const id of ids) {
      const responses = await Promise.all([1, 2, 3, 4].map(() => api.post(`/dead-letters/${id}/requeue`)));
      expect(responses.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    }
    expect(
      Number((await testDb.ds.query('SELECT count(*) AS n FROM flowbus_outbox WHERE id = ANY($1)', [ids]))[0].n),
    ).toBe(8);
    expect(Number((await testDb.ds.query('SELECT count(*) AS n FROM flowbus_dead_letter'))[0].n)).toBe(0);
  });

  it('bulk requeue by ids reports the ids it skipped', async () => {
    const { app, sink, api } = await sinkApp();
    sink.reject = true;
    const ids = await enqueue(
      app,
      [1, 2, 3].map((i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await waitFor(async () => (await testDb.ds.query('SELECT count(*) AS n FROM flowbus_dead_letter'))[0].n === '3');
    sink.reject = false;
    const unknown = '00000000-0000-4000-8000-000000000000';
    const res = await api.post('/dead-letters/requeue', { ids: [ids[0], ids[1], unknown] }).expect(200);
    expect(res.body).toEqual({
      requeued: 2,
      ids: expect.arrayContaining([ids[0], ids[1]]),
      skipped: [unknown],
      more: false,
    });
    expect(await row('flowbus_dead_letter', ids[2]!)).toBeDefined();
    const again = await api.post('/dead-letters/requeue', { ids: [ids[0]] }).expect(200);
    expect(again.body).toEqual({ requeued: 0, ids: [], skipped: [ids[0]], more: false });
    await waitFor(() => sink.ids().includes(ids[0]!) && sink.ids().includes(ids[1]!), {
      message: 'delivery of the requeued messages',
    });
  });

  it('bulk requeue by filter moves at most 500 per call and says when more remain', async () => {
    const { api } = await sinkApp(false);
    await testDb.ds.query(`
      INSERT INTO flowbus_dead_letter (id, destination, type, payload, attempts, errors, created_at)
      SELECT gen_random_uuid(), CASE WHEN i <= 510 THEN 'sink' ELSE 'other' END, CASE WHEN i % 2 = 0 THEN 'Even' ELSE 'Odd' END,
        jsonb_build_object('i', i), 3, '[]'::jsonb, now()
      FROM generate_series(1, 520) i`);
    const first = await api.post('/dead-letters/requeue', { destination: 'sink' }).expect(200);
    expect(first.body).toMatchObject({ requeued: 500, skipped: [], more: true });
    const second = await api.post('/dead-letters/requeue', { destination: 'sink' }).expect(200);
    expect(second.body).toMatchObject({ requeued: 10, more: false });
    const byType = await api.post('/dead-letters/requeue', { destination: 'other', type: 'Even' }).expect(200);
    expect(byType.body).toMatchObject({ requeued: 5, more: false });
    expect(Number((await testDb.ds.query('SELECT count(*) AS n FROM flowbus_dead_letter'))[0].n)).toBe(5);
    expect(Number((await testDb.ds.query('SELECT count(*) AS n FROM flowbus_outbox WHERE attempts = 0'))[0].n)).toBe(
      515,
    );
  });

  it('an empty filter, or ids together with a filter, is 400', async () => {
    const { api } = await sinkApp(false);
    expect((await api.post('/dead-letters/requeue', {}).expect(400)).body.message).toMatch(/ids or a filter/);
    expect(
      (
        await api
          .post('/dead-letters/requeue', { ids: ['00000000-0000-4000-8000-000000000000'], type: 'T' })
          .expect(400)
      ).body.message,
    ).toMatch(/cannot be combined/);
  });

  it('delete removes a dead letter; a second delete is 404', async () => {
    const { app, api } = await sinkApp();
    const [id] = await deadLetters(app, testDb.ds, [{ type: 'T', payload: {} }]);
    await api.delete(`/dead-letters/${id}`).expect(204);
    expect(await row('flowbus_dead_letter', id!)).toBeUndefined();
    await api.delete(`/dead-letters/${id}`).expect(404);
  });
});

describe('sagas', () => {
  it('lists with filters and pages; shows one instance with state and timeouts', async () => {
    const { api } = await sinkApp(false);
    const due = future();
    await insertSaga(testDb.ds, {
      name: 'order',
      correlationId: 'o-1',
      status: 'running',
      state: { paid: false },
      timeouts: [{ type: 'PaymentTimeout', dueAt: due, payload: { tries: 1 } }],
    });
    await insertSaga(testDb.ds, { name: 'order', correlationId: 'o-2', status: 'completed', state: { paid: true } });
    await insertSaga(testDb.ds, { name: 'refund', correlationId: 'o 3/é', status: 'failed' });

    const all = await api.get('/sagas').expect(200);
    expect(all.body.items.map((s: { correlationId: string }) => s.correlationId)).toEqual(['o 3/é', 'o-2', 'o-1']);
    expect(all.body.items[2]).toMatchObject({
      name: 'order',
      status: 'running',
      version: 1,
      state: { paid: false },
      finishedAt: null,
    });
    expect(
      (await api.get('/sagas?name=order&status=completed').expect(200)).body.items.map(
        (s: { correlationId: string }) => s.correlationId,
      ),
    ).toEqual(['o-2']);
    const p1 = await api.get('/sagas?limit=2').expect(200);
    const p2 = await api.get(`/sagas?limit=2&cursor=${p1.body.nextCursor}`).expect(200);
    expect(p2.body).toEqual({ items: [expect.objectContaining({ correlationId: 'o-1' })], nextCursor: null });

    const one = await api.get('/sagas/order/o-1').expect(200);
    expect(one.body).toMatchObject({ name: 'order', correlationId: 'o-1', state: { paid: false }, compensations: [] });
    expect(one.body.timeouts).toEqual([
      expect.objectContaining({ type: 'PaymentTimeout', payload: { tries: 1 }, lockedUntil: null }),
    ]);
    expect(new Date(one.body.timeouts[0].dueAt).getTime()).toBe(due.getTime());
    await api.get(`/sagas/refund/${encodeURIComponent('o 3/é')}`).expect(200);
    await api.get('/sagas/order/o-404').expect(404);
  });
});

describe('breakers', () => {
  it('lists the breaker of each destination that has one', async () => {
    const sink = new SwitchableSink({ circuitBreaker: { volumeThreshold: 1 } });
    const app = await start({ destinations: { sink } });
    const res = await adminApi(app).get('/breakers').expect(200);
    expect(res.body).toEqual([
      { destination: 'sink', state: 'closed', stats: expect.objectContaining({ fires: 0, failures: 0 }) },
    ]);
    expect((await adminApi(app).get('/stats').expect(200)).body.breakers).toEqual(res.body);
  });
});

describe('subscribers (log storage)', () => {
  class Audited {
    constructor(readonly n: number) {}
  }
  const fast = { initialMs: 10, factor: 1, maxMs: 10, jitter: 'none' as const };
  /** An app on the log with a `sink` destination; the relay is on unless `enabled: false`. */
  async function logApp(relay: NonNullable<Parameters<typeof createAdminApp>[1]>['relay'] = {}) {
    const sink = new SwitchableSink();
    const app = await start({ destinations: { sink }, relay: { storage: 'log', backoff: fast, ...relay } });
    return { app, sink, api: adminApi(app) };
  }
  /** A durable subscriber of an app that is gone: its cursors and directory rows, no relay reading it. */
  async function goneSubscriber(name = 'gone-app') {
    await new LogReader(poolOf(testDb.ds), 'public').register(`local:${name}`);
    await testDb.ds.query(
      `INSERT INTO flowbus_subscriber (event_type, subscriber, kind) VALUES ('Audited', $1, 'handler'), ('Other', $1, 'handler')`,
      [name],
    );
  }
  const count = async (sql: string, params: unknown[] = []) => Number((await testDb.ds.query(sql, params))[0].n);
  const cursors = (name: string) => count('SELECT count(*) AS n FROM flowbus_cursor WHERE subscriber = $1', [name]);
  const listed = async (api: ReturnType<typeof adminApi>) =>
    (await api.get('/stats').expect(200)).body.subscribers.map((s: { subscriber: string }) => s.subscriber);

  it('DELETE retires a subscriber nobody reads: cursors and directory rows go, its pending deliveries stop counting, its dead letters stay', async () => {
    const { app, api } = await logApp({ enabled: false });
    await goneSubscriber();
    await testDb.ds.query(
      `INSERT INTO flowbus_dead_letter (id, destination, subscriber, type, payload, attempts, errors, created_at)
       VALUES (gen_random_uuid(), 'local', 'gone-app', 'Audited', '{}', 3, '[]', now())`,
    );
    const outbox = app.get(OutboxService);
    const [published, retried] = await outbox.transaction((m) => outbox.publish(m, [new Audited(1), new Audited(2)]));
    // The second failed for it once (as its relay would have written it): a retry row.
    await testDb.ds.query(
      `INSERT INTO flowbus_outbox (id, destination, subscriber, type, payload, attempts, errors, last_error, next_attempt_at)
       VALUES ($1, 'local', 'gone-app', 'Audited', '{"n":2}', 1, '[]', 'Error: down', now() + interval '1 hour')`,
      [retried],
    );
    expect(await listed(api)).toContain('local:gone-app');
    expect((await api.get('/stats').expect(200)).body.outbox.pending).toBe(2);

    await api.delete('/subscribers/local%3Agone-app').expect(204);
    expect(await cursors('local:gone-app')).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM flowbus_subscriber WHERE subscriber = 'gone-app'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM flowbus_dead_letter WHERE subscriber = 'gone-app'`)).toBe(1);
    const stats = (await api.get('/stats').expect(200)).body;
    expect(stats.subscribers.map((s: { subscriber: string }) => s.subscriber)).not.toContain('local:gone-app');
    expect(stats.outbox.pending).toBe(0);
    expect(stats.deadLetters.total).toBe(1);
    // Its retries and dead letters are kept and still listed.
    expect((await api.get('/dead-letters').expect(200)).body.items).toHaveLength(1);
    const items = (await api.get('/outbox').expect(200)).body.items;
    expect(items).toEqual([
      expect.objectContaining({ id: retried, subscriber: 'gone-app', attempts: 1, noSubscriberHere: true }),
    ]);
    expect((await api.get(`/outbox/${retried}`).expect(200)).body).toMatchObject({
      attempts: 1,
      lastError: 'Error: down',
    });
    await api.get(`/outbox/${published}`).expect(404);

    const again = await api.delete('/subscribers/local%3Agone-app').expect(404);
    expect(again.body).toMatchObject({ statusCode: 404, code: 'FLOWBUS_NOT_FOUND' });
    expect(again.body.message).toContain('local:gone-app');
    await api.delete('/subscribers/destination%3Anowhere').expect(404);
  });

  it('DELETE is 409 while a running relay reads the subscriber, and changes nothing', async () => {
    const { api } = await logApp();
    // The app's own relay announces destination:sink once it has run a round.
    await waitFor(
      async () => (await count(`SELECT count(*) AS n FROM flowbus_relay WHERE subscriber = 'destination:sink'`)) > 0,
    );
    const refused = await api.delete('/subscribers/destination%3Asink').expect(409);
    expect(refused.body).toMatchObject({ statusCode: 409, code: 'FLOWBUS_CONFLICT' });
    expect(refused.body.message).toMatch(/still read by a running relay .*register it again/);
    expect(await cursors('destination:sink')).toBe(16);

    await goneSubscriber();
    const retire = () => api.delete('/subscribers/local%3Agone-app');
    // A relay that is starting: it holds a lease on a cursor but has not announced itself yet.
    await testDb.ds.query(
      `UPDATE flowbus_cursor SET owner = 'starting', lease_until = now() + interval '1 hour'
       WHERE subscriber = 'local:gone-app' AND part = 3`,
    );
    expect((await retire().expect(409)).body.message).toContain('starting');
    await testDb.ds.query(
      `UPDATE flowbus_cursor SET owner = NULL, lease_until = NULL WHERE subscriber = 'local:gone-app'`,
    );
    expect(await cursors('local:gone-app')).toBe(16);
    expect(await count(`SELECT count(*) AS n FROM flowbus_subscriber WHERE subscriber = 'gone-app'`)).toBe(2);
    await retire().expect(204);
  });

  it('DELETE is 409 for a relay alive that announced the subscriber before (its breaker open), not for a dead one', async () => {
    const { api } = await logApp({ enabled: false });
    await goneSubscriber();
    // `elsewhere` announced local:gone-app a while ago and is alive for another subscriber;
    // `dead` announced it and is alive for nothing.
    await testDb.ds.query(`INSERT INTO flowbus_relay (subscriber, owner, alive_until) VALUES
      ('local:gone-app', 'elsewhere', now() - interval '1 minute'),
      ('destination:billing', 'elsewhere', now() + interval '1 hour'),
      ('local:gone-app', 'dead', now() - interval '1 minute')`);
    const refused = await api.delete('/subscribers/local%3Agone-app').expect(409);
    expect(refused.body.message).toContain('elsewhere');
    expect(refused.body.message).not.toContain('dead');
    await testDb.ds.query(`DELETE FROM flowbus_relay WHERE owner = 'elsewhere'`);
    await api.delete('/subscribers/local%3Agone-app').expect(204);
  });

  it('a subscriber that stopped reading blocks retention until it is retired; then the sweep empties the generation', async () => {
    const { app, api, sink } = await logApp({ retentionMs: 0, retentionIntervalMs: 3_600_000 });
    await goneSubscriber();
    const ids = await enqueue(
      app,
      Array.from({ length: 10 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await drainOutbox(app);
    expect(sink.ids()).toEqual(ids);
    const retention = app.get(RetentionService);
    const left = () => count('SELECT count(*)::int AS n FROM flowbus_log WHERE id = ANY($1)', [ids]);
    // Two sweeps: the first closes the generation, the second finds it held back.
    await retention.sweep();
    await drainOutbox(app);
    await retention.sweep();
    expect(await left()).toBe(10);
    const lag = (await api.get('/stats').expect(200)).body.subscribers as {
      subscriber: string;
      blocksRetention: boolean;
    }[];
    expect(lag.find((l) => l.subscriber === 'local:gone-app')?.blocksRetention).toBe(true);
    expect(lag.find((l) => l.subscriber === 'destination:sink')?.blocksRetention).toBe(false);

    await api.delete('/subscribers/local%3Agone-app').expect(204);
    // The relay's next rounds move every remaining cursor past the rows (on a loaded machine, not
    // always the first round drainOutbox waits for); the sweep then empties their generation.
    await drainOutbox(app);
    await waitFor(
      async () => {
        await retention.sweep();
        return (await left()) === 0;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 200,
        message: 'retention to empty the generation once the subscriber is retired',
      },
    );
    expect(await listed(api)).not.toContain('local:gone-app');
  });

  it('DELETE is 403 naming the privilege when the database role may not delete cursors, and changes nothing', async () => {
    // The start-up check does not require DELETE on the cursors: an app may run without it.
    await logApp({ enabled: false }); // migrates, as the owner
    const role = `flowbus_noretire_${process.pid}`;
    await testDb.ds.query(`CREATE ROLE ${role} LOGIN PASSWORD 'noretire'`);
    const url = new URL(testDb.db.url);
    url.username = role;
    url.password = 'noretire';
    const asRole = new DataSource({ type: 'postgres', url: url.toString(), extra: { max: 2 } });
    try {
      await testDb.ds.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await testDb.ds.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
      await testDb.ds.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      await testDb.ds.query(`REVOKE DELETE ON flowbus_cursor, flowbus_subscriber FROM ${role}`);
      await asRole.initialize();
      const app = await createAdminApp(asRole, {
        destinations: { sink: new SwitchableSink() },
        relay: { storage: 'log', enabled: false },
      });
      apps.push(app);
      await goneSubscriber();
      const res = await adminApi(app).delete('/subscribers/local%3Agone-app').expect(403);
      expect(res.body.message).toMatch(/lacks a privilege.*flowbus_cursor/);
      expect(await cursors('local:gone-app')).toBe(16);
      await app.close();
      apps.splice(apps.indexOf(app), 1);
    } finally {
      if (asRole.isInitialized) await asRole.destroy();
      await testDb.ds.query(`DROP OWNED BY ${role}`);
      await testDb.ds.query(`DROP ROLE ${role}`);
    }
  });

  it('DELETE validates the name (400), and is 404 on the table storage, which has no cursors', async () => {
    const { api } = await logApp({ enabled: false });
    for (const bad of ['gone-app', 'local%3A', 'queue%3Ax', 'destination%3A', 'local%3Aa%00b']) {
      const res = await api.delete(`/subscribers/${bad}`).expect(400);
      expect([bad, res.body.message]).toEqual([bad, expect.stringMatching(/^name must/)]);
    }
    await api.delete(`/subscribers/local%3A${'x'.repeat(600)}`).expect(400);
    const table = await start({
      destinations: { sink: new SwitchableSink() },
      relay: { storage: 'table', enabled: false },
    });
    await goneSubscriber();
    const res = await adminApi(table).delete('/subscribers/local%3Agone-app').expect(404);
    expect(res.body.message).toMatch(/table storage/);
    expect(await cursors('local:gone-app')).toBe(16);
  });
});

describe('access', () => {
  it('token mode: every route is 401 without the token or with a wrong one, with WWW-Authenticate', async () => {
    const { app } = await sinkApp(false);
    for (const token of [null, 'wrong-token', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
      const api = adminApi(app, { token });
      for (const [method, path] of ROUTES) {
        const res = await api[method](path);
        expect([method, path, token, res.status]).toEqual([method, path, token, 401]);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="flowbus"');
      }
    }
    // Not a bearer scheme.
    const server = app.getHttpServer();
    await request(server)
      .get('/flowbus/stats')
      .set('Authorization', `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}`)
      .expect(401);
    await request(server).get('/flowbus/stats').set('Authorization', ADMIN_TOKEN).expect(401);
    await request(server).get('/flowbus/stats').set('Authorization', `bearer ${ADMIN_TOKEN}`).expect(200);
  });

  it('guard mode: the user guard decides every route (403 when it refuses) and is resolved with its dependencies', async () => {
    @Injectable()
    class ApiKeyGuard implements CanActivate {
      constructor(private readonly reflector: Reflector) {}
      canActivate(context: ExecutionContext): boolean {
        if (!this.reflector) throw new Error('Reflector was not injected');
        return context.switchToHttp().getRequest().headers['x-api-key'] === 'open-sesame';
      }
    }
    const app = await start({
      admin: { guard: ApiKeyGuard, token: undefined },
      relay: { enabled: false },
    });
    const server = app.getHttpServer();
    for (const [method, path] of ROUTES) {
      const res = await request(server)[method](`/flowbus${path}`);
      expect([method, path, res.status]).toEqual([method, path, 403]);
    }
    // A bearer token means nothing in guard mode.
    await request(server).get('/flowbus/stats').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(403);
    await request(server).get('/flowbus/stats').set('x-api-key', 'open-sesame').expect(200);
    await request(server).get('/flowbus/sagas/order/o-1').set('x-api-key', 'open-sesame').expect(404);
  });

  it('serves the dashboard page without credentials, with a strict CSP', async () => {
    const { app } = await sinkApp(false);
    for (const path of ['/flowbus', '/flowbus/']) {
      const res = await request(app.getHttpServer()).get(path).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toMatch(
        /default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/,
      );
      expect(res.text).toContain('<title>Flowbus admin</title>');
      expect(res.text).not.toMatch(/https?:\/\//); // nothing loaded from elsewhere
    }
  });

  it('rejects an admin API with neither guard nor token, or a bad option, at start-up', async () => {
    const attempt = (imports: Parameters<typeof createFlowbusApp>[0]['imports']) =>
      createFlowbusApp({ dataSource: testDb.ds, options: { relay: { enabled: false } }, imports });
    await expect(attempt([FlowbusAdminModule.forRoot()])).rejects.toThrow(
      'Invalid Flowbus option "admin.token": FlowbusAdminModule needs a "guard" or a "token"',
    );
    await expect(attempt([FlowbusAdminModule.forRoot({ token: 'short' })])).rejects.toThrow(
      'Invalid Flowbus option "admin.token": must be a string of at least 16 characters',
    );
    await expect(attempt([FlowbusAdminModule.forRoot({ token: ADMIN_TOKEN, path: '../x' })])).rejects.toThrow(
      'Invalid Flowbus option "admin.path": must match',
    );
  });
});

describe('registration', () => {
  it('without FlowbusAdminModule no admin route exists', async () => {
    const app = await createFlowbusApp({ dataSource: testDb.ds, options: { relay: { enabled: false } } });
    apps.push(app);
    for (const [method, path] of [...ROUTES, ['get', ''] as const]) {
      await adminApi(app)[method](path).expect(404);
    }
  });

  it('mounts at a custom path', async () => {
    const app = await start({
      admin: { path: 'ops/flowbus' },
      relay: { enabled: false },
    });
    await adminApi(app, { prefix: '/ops/flowbus' }).get('/stats').expect(200);
    await request(app.getHttpServer()).get('/ops/flowbus/').expect(200);
    await adminApi(app).get('/stats').expect(404);
  });

  it('works under the host app global prefix', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        FlowbusModule.forRoot({ dataSource: testDb.ds, relay: { enabled: false } }),
        FlowbusAdminModule.forRoot({ token: ADMIN_TOKEN }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.setGlobalPrefix('api');
    await app.init();
    apps.push(app);
    await adminApi(app, { prefix: '/api/flowbus' }).get('/stats').expect(200);
  });

  it("keeps its answers under the host app's global ValidationPipe and exception filter", async () => {
    @Catch()
    class SwallowEverything implements ExceptionFilter {
      catch(_e: unknown, host: ArgumentsHost) {
        host.switchToHttp().getResponse().status(418).json({ host: true });
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        FlowbusModule.forRoot({ dataSource: testDb.ds, relay: { enabled: false } }),
        FlowbusAdminModule.forRoot({ token: ADMIN_TOKEN }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalPipes(new ValidationPipe({ transform: true, transformOptions: { enableImplicitConversion: true } }));
    app.useGlobalFilters(new SwallowEverything());
    await app.init();
    apps.push(app);
    const api = adminApi(app);
    expect((await api.get('/outbox?limit=2').expect(200)).body).toEqual({ items: [], nextCursor: null });
    expect((await api.get('/outbox?limit=0').expect(400)).body.message).toEqual(['limit must not be less than 1']);
    await api.get('/outbox?limit=abc').expect(400);
    await api.get('/dead-letters/00000000-0000-4000-8000-000000000000').expect(404);
    await adminApi(app, { token: null }).get('/stats').expect(401);
  });

  describe('forRootAsync', () => {
    async function asyncApp(statics: { path?: string; guard?: Type<CanActivate> }, factory: () => object) {
      @Injectable()
      class AdminConfig {
        readonly token = ADMIN_TOKEN;
      }
      @Module({ providers: [AdminConfig], exports: [AdminConfig] })
      class ConfigModule {}
      const moduleRef = await Test.createTestingModule({
        imports: [
          FlowbusModule.forRootAsync({ useFactory: () => ({ dataSource: testDb.ds, relay: { enabled: false } }) }),
          FlowbusAdminModule.forRootAsync({
            ...statics,
            imports: [ConfigModule],
            inject: [AdminConfig],
            useFactory: async (config: AdminConfig) => ({ token: config.token, ...factory() }),
          }),
        ],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      apps.push(app);
      return app;
    }

    it('mounts the routes at the static path, with the token the factory gives from an injected provider', async () => {
      const app = await asyncApp({ path: 'admin/flowbus' }, () => ({}));
      const api = adminApi(app, { prefix: '/admin/flowbus' });
      await api.get('/stats').expect(200);
      await adminApi(app, { prefix: '/admin/flowbus', token: 'nope-nope-nope-nope' }).get('/stats').expect(401);
      await request(app.getHttpServer()).get('/admin/flowbus').expect(200);
      await adminApi(app).get('/stats').expect(404);
    });

    it('fails at start-up when the factory gives no token, a short one, or tries to move the routes', async () => {
      await expect(asyncApp({}, () => ({ token: undefined }))).rejects.toThrow(
        'Invalid Flowbus option "admin.token": FlowbusAdminModule needs a "guard" or a "token"',
      );
      await expect(asyncApp({}, () => ({ token: 'short' }))).rejects.toThrow('Invalid Flowbus option "admin.token"');
      await expect(asyncApp({ path: 'a' }, () => ({ path: 'b' }))).rejects.toThrow(
        'Invalid Flowbus option "admin.path": cannot come from the forRootAsync factory',
      );
    });
  });
});

describe('OpenAPI', () => {
  it('documents every admin route with bearer auth and DTO schemas', async () => {
    const { app } = await sinkApp(false);
    const doc = SwaggerModule.createDocument(app, new DocumentBuilder().addBearerAuth().build());
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /flowbus/stats',
        'GET /flowbus/outbox',
        'GET /flowbus/outbox/{id}',
        'POST /flowbus/outbox/{id}/retry',
        'GET /flowbus/dead-letters',
        'GET /flowbus/dead-letters/{id}',
        'POST /flowbus/dead-letters/{id}/requeue',
        'POST /flowbus/dead-letters/requeue',
        'DELETE /flowbus/dead-letters/{id}',
        'GET /flowbus/sagas',
        'GET /flowbus/sagas/{name}/{correlationId}',
        'GET /flowbus/sagas/{name}/{correlationId}/timeline',
        'GET /flowbus/conversations/{correlationId}',
        'GET /flowbus/history',
        'GET /flowbus/breakers',
        'DELETE /flowbus/subscribers/{name}',
      ].sort(),
    );
    const list = doc.paths['/flowbus/outbox']!.get!;
    expect(list.security).toEqual([{ bearer: [] }]);
    expect(list.tags).toEqual(['flowbus']);
    const status = list.parameters!.find((p) => 'name' in p && p.name === 'status');
    expect(status).toMatchObject({
      in: 'query',
      required: false,
      schema: { enum: ['pending', 'in-flight', 'delivered'] },
    });
    expect(Object.keys(doc.components!.schemas!)).toEqual(
      expect.arrayContaining(['StatsDto', 'OutboxPageDto', 'DeadLetterDetailDto', 'SagaDetailDto', 'BulkRequeueDto']),
    );
  });
});

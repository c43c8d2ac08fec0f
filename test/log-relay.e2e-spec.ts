import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { HandleEvent, NonRetryableError, OutboxService, type FlowbusOptions } from 'nestjs-flowbus';
import { drainOutbox, ManualClock, waitFor } from 'nestjs-flowbus/testing';
import { DataSource, type EntityManager } from 'typeorm';
import { createFlowbusApp, redeliver } from './support/app.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { heldSink, cutWhileDelivering, OUTAGE_BATCH } from './support/held-sink.js';
import { RecordingDestination } from './support/recording-destination.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { adminApi, createAdminApp } from './support/admin-app.js';
import { poolOf } from '../libs/flowbus/src/database/pg-pool.js';
import { LogReader } from '../libs/flowbus/src/outbox/log-reader.js';
import { RetentionService } from '../libs/flowbus/src/relay/retention.service.js';

/** The relay on the log storage (`relay.storage: 'log'`), driven through the public API. */

class ParcelShipped {
  constructor(readonly parcel: string) {}
}

const ran: string[] = [];
let failLabelsOnce = new Set<string>();
/** Parcels both subscribers refuse (NonRetryableError) while listed. */
const refused = new Set<string>();

@Injectable()
class Tracking {
  @HandleEvent(ParcelShipped, { durable: true, name: 'tracking' })
  async onShipped(e: ParcelShipped, manager: EntityManager) {
    await manager.query('INSERT INTO tracked (parcel) VALUES ($1)', [e.parcel]);
    if (refused.has(e.parcel)) throw new NonRetryableError(`no tracking for ${e.parcel}`);
    ran.push(`tracking:${e.parcel}`);
  }
}

@Injectable()
class Labels {
  @HandleEvent(ParcelShipped, { durable: true, name: 'labels' })
  async onShipped(e: ParcelShipped) {
    if (failLabelsOnce.delete(e.parcel)) throw new Error(`printer jam on ${e.parcel}`);
    if (refused.has(e.parcel)) throw new NonRetryableError(`no label for ${e.parcel}`);
    ran.push(`labels:${e.parcel}`);
  }
}

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();
const fast = { initialMs: 10, factor: 1, maxMs: 10, jitter: 'none' as const };

async function start(billing: RecordingDestination, extra: Omit<FlowbusOptions, 'dataSource'> = {}) {
  const app = await createFlowbusApp({
    dataSource: testDb.ds,
    options: {
      destinations: { billing },
      routes: [{ event: ParcelShipped, destination: 'billing' }],
      relay: { storage: 'log', pollIntervalMs: 50, backoff: fast, ...extra.relay },
    },
    providers: [Tracking, Labels],
  });
  apps.push(app);
  return app;
}

/** An app with the admin API, the billing route and both subscribers, on the log. */
async function startWithAdmin(billing: RecordingDestination, relay: NonNullable<FlowbusOptions['relay']>) {
  const app = await createAdminApp(
    testDb.ds,
    {
      destinations: { billing },
      routes: [{ event: ParcelShipped, destination: 'billing' }],
      relay: { storage: 'log', backoff: fast, ...relay },
    },
    { providers: [Tracking, Labels] },
  );
  apps.push(app);
  return app;
}

const count = async (sql: string, params: unknown[] = []) => Number((await testDb.ds.query(sql, params))[0].n);

beforeAll(async () => {
  await testDb.ds.query('CREATE TABLE tracked (parcel text)');
});

afterEach(async () => {
  ran.length = 0;
  failLabelsOnce = new Set();
  refused.clear();
});

describe('log storage', () => {
  it('fans out: one published event is one log row, delivered once to each subscriber and route', async () => {
    const billing = new RecordingDestination();
    const app = await start(billing);
    const outbox = app.get(OutboxService);
    const before = await count('SELECT count(*)::int AS n FROM flowbus_log');
    const ids = await outbox.transaction((m) => outbox.publish(m, new ParcelShipped('p1')));
    expect(ids).toHaveLength(1);
    await drainOutbox(app);
    expect(await count('SELECT count(*)::int AS n FROM flowbus_log')).toBe(before + 1);
    expect(ran.sort()).toEqual(['labels:p1', 'tracking:p1']);
    expect(billing.ids()).toEqual(ids);
    expect(await count("SELECT count(*)::int AS n FROM tracked WHERE parcel = 'p1'")).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM flowbus_outbox')).toBe(0);
  });

  it('retries a failing subscriber alone, through flowbus_outbox', async () => {
    const billing = new RecordingDestination();
    const app = await start(billing);
    const outbox = app.get(OutboxService);
    failLabelsOnce.add('p2');
    await outbox.transaction((m) => outbox.publish(m, new ParcelShipped('p2')));
    await waitFor(() => ran.includes('labels:p2'));
    await drainOutbox(app);
    expect(ran.sort()).toEqual(['labels:p2', 'tracking:p2']);
    expect(billing.received).toHaveLength(1);
    const [retry] = await testDb.ds.query('SELECT subscriber, attempts, delivered_at FROM flowbus_outbox');
    expect(retry).toMatchObject({ subscriber: 'labels', attempts: 1 });
    expect(retry.delivered_at).not.toBeNull();
  });

  it('keeps the message id for every subscriber: dead letters, requeue by id, retry and inbox', async () => {
    const billing = new RecordingDestination();
    const app = await startWithAdmin(billing, { pollIntervalMs: 50 });
    const api = adminApi(app);
    const outbox = app.get(OutboxService);
    refused.add('p-id');
    const [id] = await outbox.transaction((m) => outbox.publish(m, new ParcelShipped('p-id')));
    await waitFor(
      async () => (await count('SELECT count(*)::int AS n FROM flowbus_dead_letter WHERE id = $1', [id])) === 2,
    );
    // One message, one id: each subscriber that refused it has its own dead letter under that id.
    expect(
      await testDb.ds.query('SELECT subscriber FROM flowbus_dead_letter WHERE id = $1 ORDER BY subscriber', [id]),
    ).toEqual([{ subscriber: 'labels' }, { subscriber: 'tracking' }]);
    expect(billing.ids()).toEqual([id]);
    // The oldest of them (the subscribers fail it concurrently: either may be first).
    const [oldest] = await testDb.ds.query(
      'SELECT subscriber FROM flowbus_dead_letter WHERE id = $1 ORDER BY seq LIMIT 1',
      [id],
    );
    expect((await api.get(`/dead-letters/${id}`).expect(200)).body).toMatchObject({
      id,
      subscriber: oldest.subscriber,
    });

    refused.clear();
    expect((await api.post(`/dead-letters/${id}/requeue`).expect(200)).body).toMatchObject({ id });
    await api.post(`/dead-letters/${id}/requeue`).expect(409);
    await drainOutbox(app);
    expect(ran.sort()).toEqual(['labels:p-id', 'tracking:p-id']);
    expect(
      await testDb.ds.query('SELECT subscriber FROM flowbus_inbox WHERE message_id = $1 ORDER BY subscriber', [id]),
    ).toEqual([{ subscriber: 'labels' }, { subscriber: 'tracking' }]);
    const list = (await api.get('/outbox?type=ParcelShipped').expect(200)).body.items;
    expect(
      list
        .filter((m: { id: string }) => m.id === id)
        .map((m: { destination: string; subscriber: string; status: string }) => [
          m.destination,
          m.subscriber,
          m.status,
        ]),
    ).toEqual([
      ['billing', '', 'delivered'],
      ['local', 'labels', 'delivered'],
      ['local', 'tracking', 'delivered'],
    ]);
    await api.post(`/outbox/${id}/retry`).expect(409);

    // Delivered again (a relay that crashed before recording it): the inbox acknowledges it.
    await redeliver(testDb.ds, id!, 'tracking');
    await drainOutbox(app);
    expect(await count("SELECT count(*)::int AS n FROM tracked WHERE parcel = 'p-id'")).toBe(1);
    expect(ran.filter((r) => r === 'tracking:p-id')).toHaveLength(1);
  });

  it("keeps a key's order when its head fails: later rows are parked behind it, other keys go on", async () => {
    const billing = new RecordingDestination();
    let failures = 2;
    billing.failWith = (m) => ((m.payload as { n: number }).n === 1 && failures-- > 0 ? new Error('busy') : undefined);
    const app = await start(billing);
    const outbox = app.get(OutboxService);
    await outbox.transaction((m) =>
      outbox.enqueue(m, [
        { destination: 'billing', type: 'Charge', key: 'k', payload: { n: 1 } },
        { destination: 'billing', type: 'Charge', key: 'k', payload: { n: 2 } },
        { destination: 'billing', type: 'Charge', key: 'other', payload: { n: 10 } },
        { destination: 'billing', type: 'Charge', key: 'k', payload: { n: 3 } },
      ]),
    );
    await waitFor(() => billing.received.length === 4);
    await drainOutbox(app);
    const order = billing.received.map((m) => (m.payload as { n: number }).n);
    expect(order.filter((n) => n < 10)).toEqual([1, 2, 3]);
    expect(order[0]).toBe(10); // not blocked by k's failing head
    // Parked rows burnt no attempt.
    const rows = await testDb.ds.query(
      "SELECT payload->>'n' AS n, attempts FROM flowbus_outbox WHERE type = 'Charge' ORDER BY seq",
    );
    expect(rows).toEqual([
      { n: '1', attempts: 2 },
      { n: '2', attempts: 0 },
      { n: '3', attempts: 0 },
    ]);
  });

  it('dead-letters a NonRetryableError at once, with its error', async () => {
    const billing = new RecordingDestination();
    billing.failWith = () => new NonRetryableError('unknown customer');
    const app = await start(billing);
    const outbox = app.get(OutboxService);
    const [id] = await outbox.transaction((m) =>
      outbox.enqueue(m, { destination: 'billing', type: 'Charge', payload: { n: 99 } }),
    );
    await waitFor(
      async () => (await count('SELECT count(*)::int AS n FROM flowbus_dead_letter WHERE id = $1', [id])) === 1,
    );
    const [dead] = await testDb.ds.query('SELECT attempts, last_error, errors FROM flowbus_dead_letter WHERE id = $1', [
      id,
    ]);
    expect(dead.attempts).toBe(1);
    expect(dead.last_error).toContain('unknown customer');
    expect(dead.errors).toHaveLength(1);
  });

  it('two relays on one database deliver every row exactly once', async () => {
    const a = new RecordingDestination();
    const b = new RecordingDestination();
    const appA = await start(a);
    const appB = await start(b);
    const outbox = appA.get(OutboxService);
    const written: string[] = [];
    for (let i = 0; i < 20; i++) {
      written.push(
        ...(await outbox.transaction((m) =>
          outbox.enqueue(
            m,
            Array.from({ length: 25 }, (_, j) => ({
              destination: 'billing',
              type: 'Charge',
              key: j % 2 === 0 ? `k${j % 5}` : undefined,
              payload: { n: i * 25 + j },
            })),
          ),
        )),
      );
    }
    await waitFor(() => a.received.length + b.received.length >= written.length).catch(async (error: unknown) => {
      const cursors = await testDb.ds.query(
        "SELECT owner, min(tick_id) AS lo, max(tick_id) AS hi, count(*)::int AS n FROM flowbus_cursor WHERE subscriber = 'destination:billing' GROUP BY owner",
      );
      const ticks = await testDb.ds.query('SELECT max(id) AS id FROM flowbus_tick');
      const got = new Set([...a.ids(), ...b.ids()]);
      const missing = written.filter((id) => !got.has(id));
      console.log(
        await testDb.ds.query('SELECT seq, txid::text, key, part FROM flowbus_log WHERE id = ANY($1) ORDER BY seq', [
          missing,
        ]),
        await testDb.ds.query(
          'SELECT min(seq), max(seq), count(*), txid::text FROM flowbus_log WHERE id = ANY($1) GROUP BY txid ORDER BY 1',
          [written],
        ),
        await testDb.ds.query('SELECT id, snap::text, lo_seq, hi_seq, floor_seq FROM flowbus_tick ORDER BY id'),
      );
      throw new Error(
        `${a.received.length} + ${b.received.length} of ${written.length} delivered; cursors ${JSON.stringify(cursors)}; latest tick ${ticks[0].id}`,
        { cause: error },
      );
    });
    await drainOutbox(appA);
    await drainOutbox(appB);
    const delivered = [...a.ids(), ...b.ids()];
    expect(delivered).toHaveLength(written.length);
    expect(new Set(delivered)).toEqual(new Set(written));
    // Each relay takes its share of the cursors (8 of 16), not the first one all of them.
    expect(a.received.length).toBeGreaterThan(0);
    expect(b.received.length).toBeGreaterThan(0);
    const owners = async () =>
      (
        await testDb.ds.query(
          "SELECT count(*)::int AS n FROM flowbus_cursor WHERE subscriber = 'destination:billing' GROUP BY owner",
        )
      ).map((r: { n: number }) => r.n);
    await waitFor(async () => (await owners()).join() === '8,8', { message: 'the cursors split 8 and 8' });
  });

  it('delivers once, after switching to the log, the rows a table-storage app left pending', async () => {
    const before = new RecordingDestination();
    const producer = await createFlowbusApp({
      dataSource: testDb.ds,
      options: {
        destinations: { billing: before },
        routes: [{ event: ParcelShipped, destination: 'billing' }],
        relay: { storage: 'table', enabled: false },
      },
      providers: [Tracking, Labels],
    });
    const outbox = producer.get(OutboxService);
    const pending = await outbox.transaction((m) =>
      outbox.enqueue(
        m,
        Array.from({ length: 30 }, (_, i) => ({
          destination: 'billing',
          type: 'Legacy',
          key: `k${i % 3}`,
          payload: { i },
        })),
      ),
    );
    await producer.close();
    const billing = new RecordingDestination();
    const app = await start(billing);
    await waitFor(() => billing.received.length >= pending.length);
    await drainOutbox(app);
    expect(billing.ids().sort()).toEqual([...pending].sort());
    for (const key of ['k0', 'k1', 'k2']) {
      const order = billing.received.filter((m) => m.key === key).map((m) => (m.payload as { i: number }).i);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('retention empties consumed log generations, held back by a subscriber that stopped reading (visible in stats)', async () => {
    const billing = new RecordingDestination();
    const app = await startWithAdmin(billing, { retentionMs: 0, retentionIntervalMs: 3_600_000 });
    // An app that subscribed once (its cursors exist) and is gone: it reads nothing any more.
    await new LogReader(poolOf(testDb.ds), 'public').register('local:gone-app');
    const outbox = app.get(OutboxService);
    const ids = await outbox.transaction((m) =>
      outbox.publish(
        m,
        Array.from({ length: 10 }, (_, i) => new ParcelShipped(`r${i}`)),
      ),
    );
    await drainOutbox(app);
    expect(billing.ids()).toEqual(ids);
    const retention = app.get(RetentionService);
    await retention.sweep();
    const left = () => count('SELECT count(*)::int AS n FROM flowbus_log WHERE id = ANY($1)', [ids]);
    expect(await left()).toBe(10);
    const stats = (await adminApi(app).get('/stats').expect(200)).body;
    const gone = stats.subscribers.find((s: { subscriber: string }) => s.subscriber === 'local:gone-app');
    expect(gone.behindSeq).toBeGreaterThanOrEqual(10);
    expect(gone.blocksRetention).toBe(true);
    const billingLag = stats.subscribers.find((s: { subscriber: string }) => s.subscriber === 'destination:billing');
    expect(billingLag.behindSeq).toBeLessThan(gone.behindSeq);
    expect(billingLag.blocksRetention).toBe(false);
    // Retired (its cursors deleted): retention goes on.
    await testDb.ds.query("DELETE FROM flowbus_cursor WHERE subscriber = 'local:gone-app'");
    // The relay's next rounds move every cursor past the rows (on a loaded machine, not always the
    // first round drainOutbox waits for), and retention then forgets them.
    await drainOutbox(app);
    await waitFor(
      async () => {
        await retention.sweep();
        return (await left()) === 0;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: 'retention to forget the consumed rows' },
    );
  });

  it('keeps delivered log rows for retentionMs on the app clock, then empties their generation', async () => {
    // A schema of its own, so its generations start with it; the clock a little ahead of the
    // database's, which stamped the first generation's opening.
    const clock = new ManualClock(Date.now() + 1000);
    const billing = new RecordingDestination();
    const app = await createAdminApp(
      testDb.ds,
      {
        schema: 'kept',
        clock,
        destinations: { billing },
        routes: [{ event: ParcelShipped, destination: 'billing' }],
        relay: { storage: 'log', retentionMs: 60_000, retentionIntervalMs: 100, backoff: fast },
      },
      { providers: [Labels] },
    );
    apps.push(app);
    const outbox = app.get(OutboxService);
    const ids = await outbox.transaction((m) =>
      outbox.publish(
        m,
        Array.from({ length: 10 }, (_, i) => new ParcelShipped(`kept${i}`)),
      ),
    );
    await drainOutbox(app);
    expect(billing.ids()).toEqual(ids);
    const retention = app.get(RetentionService);
    const left = () => count('SELECT count(*)::int AS n FROM kept.flowbus_log WHERE id = ANY($1)', [ids]);
    await retention.sweep();
    expect(await left()).toBe(10);
    clock.advance(31_000); // the generation is older than retentionMs / 2: writers switch to the next
    await retention.sweep();
    clock.advance(59_000); // closed 59 s ago: kept
    await retention.sweep();
    expect(await left()).toBe(10);
    clock.advance(2_000); // closed 61 s ago, read by every subscriber: emptied
    await waitFor(
      async () => {
        await drainOutbox(app);
        await retention.sweep();
        return (await left()) === 0;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: 'retention to empty the generation' },
    );
  });

  it('GET /stats counts what each reader has yet to read in the log as pending, per destination', async () => {
    const billing = new RecordingDestination();
    // A producer without a relay: its subscribers get their cursors at start all the same.
    const producer = await createAdminApp(
      testDb.ds,
      {
        destinations: { billing },
        routes: [{ event: ParcelShipped, destination: 'billing' }],
        relay: { storage: 'log', enabled: false },
      },
      { providers: [Tracking, Labels] },
    );
    apps.push(producer);
    const api = adminApi(producer);
    const pending = async () => {
      const body = (await api.get('/stats').expect(200)).body;
      const of = (d: string) =>
        body.outbox.byDestination.find((x: { destination: string }) => x.destination === d)?.pending ?? 0;
      return {
        total: body.outbox.pending,
        local: of('local'),
        billing: of('billing'),
        oldest: body.outbox.oldestPendingAgeMs,
      };
    };
    expect(await pending()).toEqual({ total: 0, local: 0, billing: 0, oldest: null });
    const outbox = producer.get(OutboxService);
    await outbox.transaction(async (m) => {
      await outbox.publish(m, [new ParcelShipped('p1'), new ParcelShipped('p2'), new ParcelShipped('p3')]);
      await outbox.enqueue(m, { destination: 'billing', type: 'Invoice', payload: {} });
    });
    // 3 events × 2 durable subscribers; 3 routed events + 1 enqueued message for billing.
    expect(await pending()).toEqual({ total: 10, local: 6, billing: 4, oldest: expect.any(Number) });
    const worker = await start(billing);
    await drainOutbox(worker);
    expect(billing.received).toHaveLength(4);
    expect(await pending()).toEqual({ total: 0, local: 0, billing: 0, oldest: null });
  });

  it('keeps the outcome of a batch delivered during a database outage and delivers nothing twice', async () => {
    const proxy = await startTcpProxy(Number(new URL(testDb.db.url).port));
    const proxied = await new DataSource({
      type: 'postgres',
      url: proxy.urlFor(testDb.db.url),
      extra: { max: 10, connectionTimeoutMillis: 2000 },
    }).initialize();
    try {
      // The retry stays in flowbus_outbox while the test looks at it.
      const held = heldSink({ backoff: { initialMs: 60_000, jitter: 'none' } });
      const { received } = held;
      const app = await createFlowbusApp({
        dataSource: proxied,
        options: { destinations: { sink: held.sink }, relay: { storage: 'log', pollIntervalMs: 50, leaseMs: 60_000 } },
      });
      apps.push(app);
      const outbox = app.get(OutboxService);
      const ids = await outbox.transaction((m) => outbox.enqueue(m, OUTAGE_BATCH));
      await cutWhileDelivering(proxy, held, ids.length);
      proxy.accept();
      // Well before the 60 s lease: the batch is recorded (retry row + cursor advance) once the database is back.
      await waitFor(
        async () => (await count('SELECT count(*)::int AS n FROM flowbus_outbox WHERE id = $1', [ids[20]])) === 1,
        { timeoutMs: 5000, message: 'the failed delivery recorded' },
      );
      const [failed] = await testDb.ds.query('SELECT attempts, last_error FROM flowbus_outbox WHERE id = $1', [
        ids[20],
      ]);
      expect(failed).toEqual({ attempts: 1, last_error: 'Error: 503 from downstream' });
      // Rounds go on after the outage: a later row is delivered, none of the batch again.
      const [later] = await outbox.transaction((m) =>
        outbox.enqueue(m, { destination: 'sink', type: 'T', payload: {} }),
      );
      await waitFor(() => received.includes(later!), { message: 'a delivery after the outage' });
      await drainOutbox(app);
      expect(received.filter((id) => id !== ids[20])).toHaveLength(ids.length);
      expect(new Set(received.filter((id) => id !== ids[20])).size).toBe(ids.length);
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await proxied.destroy();
      await proxy.close();
    }
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { OutboxService, type FlowbusOptions } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { createFlowbusApp, deliveredRows } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { heldSink, cutWhileDelivering, OUTAGE_BATCH } from './support/held-sink.js';
import { RecordingDestination } from './support/recording-destination.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

/**
 * The app reaches PostgreSQL through a TCP proxy that the tests cut, as a failover or a network
 * fault does: the server never says goodbye. The test's own connection (`ds`) goes direct.
 *
 * The app runs in the test process. An `'error'` event nobody listens to (pg's, on a connection
 * cut while checked out) is an uncaught exception there, and Jest fails the running test with
 * it ("Unhandled error. (Error: Connection terminated unexpectedly)" before the fix): that is the
 * check. Listeners on `process` cannot observe it from inside Jest's sandbox.
 */

let db: TestDatabase;
let ds: DataSource;
let proxy: TcpProxy;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  proxy = await startTcpProxy(Number(new URL(db.url).port));
});

afterEach(async () => {
  proxy.accept();
  for (const close of closers.splice(0).reverse()) await close();
  await ds.query(
    'TRUNCATE flowbus_outbox, flowbus_dead_letter, flowbus_inbox, flowbus_log, flowbus_cursor, flowbus_tick',
  );
});

afterAll(async () => {
  await proxy.close();
  await ds.destroy();
  await db.drop();
});

/** An app whose every connection goes through the proxy. */
async function proxiedApp(options: Omit<FlowbusOptions, 'dataSource'>): Promise<INestApplication> {
  const dataSource = await new DataSource({
    type: 'postgres',
    url: proxy.urlFor(db.url),
    extra: { max: 10, connectionTimeoutMillis: 2000 },
  }).initialize();
  closers.push(() => dataSource.destroy());
  const app = await createFlowbusApp({ dataSource, options });
  closers.push(() => app.close());
  return app;
}

describe('database connections cut (failover)', () => {
  it('survives a cut while a claim is in flight, and delivers again once the database is back', async () => {
    const sink = new RecordingDestination();
    const app = await proxiedApp({ destinations: { sink }, relay: { pollIntervalMs: 50 } });
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE flowbus_outbox IN ACCESS EXCLUSIVE MODE');
      // A claim waits on the lock: its connection is checked out of the pool, a query in flight.
      await waitFor(
        async () =>
          (
            await ds.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%flowbus_outbox%'`,
            )
          )[0].n > 0,
        { message: 'a claim waiting on the table lock' },
      );
      proxy.refuse();
      proxy.cut();
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }
    // Written while the app cannot reach the database; the relay keeps trying meanwhile.
    const outbox = app.get(OutboxService);
    const [id] = await ds.transaction((m) =>
      outbox.enqueue(m, { destination: 'sink', type: 'AfterFailover', payload: {} }),
    );
    proxy.accept();
    await waitFor(() => sink.ids().includes(id!), { message: 'a delivery after the database is back' });
  });
});

describe('delivery outcomes during a database outage', () => {
  it('keeps the outcomes of deliveries made while the database is unreachable and writes them once it is back', async () => {
    const held = heldSink();
    const { received } = held;
    // A minute of backoff: the failed row stays unleased until the checks (the log storage times
    // the backoff from the attempt, made before the outage, not from when it could be written).
    const app = await proxiedApp({
      destinations: { sink: held.sink },
      relay: { pollIntervalMs: 50, leaseMs: 60_000, backoff: { initialMs: 60_000, jitter: 'none' } },
    });
    const outbox = app.get(OutboxService);
    const ids = await outbox.transaction((m) => outbox.enqueue(m, OUTAGE_BATCH));
    const failing = ids[20]!;
    // The relay tries to write the outcomes (and to claim) meanwhile, and cannot.
    await cutWhileDelivering(proxy, held, ids.length);
    proxy.accept();
    // Well before the 60 s lease: the kept outcomes are written as soon as the database is back.
    const failedOnce = async () =>
      (await ds.query(`SELECT count(*)::int AS n FROM flowbus_outbox WHERE delivered_at IS NULL AND attempts = 1`))[0]
        .n;
    await waitFor(async () => (await deliveredRows(ds, ids)).length + (await failedOnce()) === ids.length, {
      timeoutMs: 5000,
      message: 'every outcome written',
    });
    const failed = (await ds.query('SELECT * FROM flowbus_outbox WHERE id = $1', [failing]))[0];
    expect(failed).toMatchObject({
      attempts: 1,
      delivered_at: null,
      lock_owner: null,
      last_error: 'Error: 503 from downstream',
    });
    const leased = await ds.query('SELECT count(*)::int AS n FROM flowbus_outbox WHERE lock_owner IS NOT NULL');
    expect(leased[0].n).toBe(0);
    // Nothing delivered twice.
    expect(new Set(received).size).toBe(received.length);
    expect(received.length).toBe(ids.length);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { OutboxService, type FlowbusOptions } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { RecordingDestination } from './support/recording-destination.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

/**
 * The app reaches PostgreSQL through a TCP proxy that the tests cut, as a failover or a network
 * fault does: the server never says goodbye. The test's own connection (`ds`) goes direct.
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
  await ds.query('TRUNCATE flowbus_outbox, flowbus_dead_letter, flowbus_inbox');
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

/** Errors that reached the process unhandled while `work` ran. */
async function unhandledDuring(work: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (error: unknown) => seen.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  try {
    await work();
  } finally {
    process.removeListener('uncaughtException', record);
    process.removeListener('unhandledRejection', record);
  }
  return seen;
}

describe('database connections cut (failover)', () => {
  it('survives a cut while a claim is in flight, and delivers again once the database is back', async () => {
    const sink = new RecordingDestination();
    const app = await proxiedApp({ destinations: { sink }, relay: { pollIntervalMs: 50 } });
    const unhandled = await unhandledDuring(async () => {
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
    expect(unhandled).toEqual([]);
  });
});

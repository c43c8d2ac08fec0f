import type { INestApplication, ModuleMetadata, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FlowbusModule, type FlowbusOptions } from 'nestjs-flowbus';
import type { DataSource } from 'typeorm';

export interface FlowbusAppOptions {
  dataSource: DataSource;
  options?: Omit<FlowbusOptions, 'dataSource'>;
  providers?: Provider[];
  imports?: ModuleMetadata['imports'];
  controllers?: ModuleMetadata['controllers'];
}

/** Builds and initialises a Nest app with Flowbus on the given DataSource. Close it with `app.close()`. */
export async function createFlowbusApp(setup: FlowbusAppOptions): Promise<INestApplication> {
  const options = withTestStorage(setup.options);
  const moduleRef = await Test.createTestingModule({
    imports: [FlowbusModule.forRoot({ dataSource: setup.dataSource, ...options }), ...(setup.imports ?? [])],
    providers: setup.providers ?? [],
    controllers: setup.controllers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: process.env.FLOWBUS_TEST_LOGS ? undefined : false });
  await app.init();
  return app;
}

/**
 * The storage the suites run on: FLOWBUS_TEST_STORAGE (`log` or `table`), else the library's
 * default (`log`). `npm test` runs the e2e suite once on each.
 */
export function testStorage(): 'log' | 'table' {
  const storage = process.env.FLOWBUS_TEST_STORAGE;
  if (storage === undefined || storage === '') return 'log';
  if (storage !== 'log' && storage !== 'table')
    throw new Error(`FLOWBUS_TEST_STORAGE must be log or table, not ${storage}`);
  return storage;
}

/**
 * Runs an app on the storage under test (see testStorage) unless it chose one; the e2e apps and
 * the reliability fixture processes (which inherit FLOWBUS_TEST_STORAGE) both go through here.
 */
export function withTestStorage<T extends Omit<FlowbusOptions, 'dataSource'> | undefined>(options: T): T {
  const storage = testStorage();
  return options?.relay?.storage === undefined ? ({ ...options, relay: { ...options?.relay, storage } } as T) : options;
}

/**
 * What the helpers below query through: a TypeORM DataSource or EntityManager, or a plain `pg`
 * client wrapped by `queryable` (the reliability suite's books).
 */
export type Queryable = Pick<DataSource, 'query'>;

/** A `pg` client (or pool) as a Queryable: rows only, as TypeORM's `query` returns them. */
export function queryable(client: {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}): Queryable {
  return { query: async <T>(text: string, values?: unknown[]) => (await client.query(text, values)).rows as T };
}

/** A promise with its resolve function, to hold handlers until a test lets them go. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Where the specs find what was written for delivery: `flowbus_outbox` (one row per delivery) on
 * the table storage, `flowbus_log` (one row per message, `destination` null for `local`) on the
 * log storage (see testStorage).
 */
export const writtenRows =
  testStorage() === 'log'
    ? { table: 'flowbus_log', local: 'destination IS NULL' }
    : { table: 'flowbus_outbox', local: `destination = 'local'` };

/**
 * The delivery of message `id` to its destination (or to durable `subscriber`) once it is
 * delivered, else undefined, on either storage: its `flowbus_outbox` row (table storage, or a log
 * delivery that was retried), or, for a log row delivered at its first attempt, the reader's
 * cursor past it, or its partial window done past it (attempts 0).
 */
export async function deliveredRow<T = { attempts: number; errors: unknown[]; delivered_at: Date }>(
  ds: Queryable,
  id: string,
  subscriber = '',
): Promise<T | undefined> {
  return (await deliveredRows<T>(ds, [id], subscriber))[0];
}

/** deliveredRow of each of `ids` that is delivered (with its `id`). */
export async function deliveredRows<T = { id: string; attempts: number; errors: unknown[]; delivered_at: Date }>(
  ds: Queryable,
  ids: readonly string[],
  subscriber = '',
): Promise<T[]> {
  return (await ds.query(
    `SELECT id, attempts, errors, delivered_at FROM flowbus_outbox
     WHERE id = ANY($1::uuid[]) AND subscriber = $2 AND delivered_at IS NOT NULL
     UNION ALL
     SELECT l.id, 0, '[]'::jsonb, c.updated_at FROM flowbus_log l
       JOIN flowbus_cursor c ON c.part = l.part
         AND c.subscriber = CASE WHEN $2 = '' THEN 'destination:' || l.destination ELSE 'local:' || $2 END
       JOIN flowbus_tick t ON t.id = c.tick_id
       LEFT JOIN flowbus_tick w ON w.id = c.window_end
     WHERE l.id = ANY($1::uuid[])
       AND (pg_visible_in_snapshot(l.txid, t.snap) OR (l.seq <= c.done_seq AND pg_visible_in_snapshot(l.txid, w.snap)))
       AND NOT EXISTS (SELECT 1 FROM flowbus_outbox o WHERE o.id = l.id AND o.subscriber = $2)
       AND NOT EXISTS (SELECT 1 FROM flowbus_dead_letter d WHERE d.id = l.id AND d.subscriber = $2)`,
    [ids, subscriber],
  )) as T[];
}

/**
 * Makes the delivery of message `id` to durable `subscriber` due again, as after a relay that
 * crashed before recording it: its `flowbus_outbox` row made undelivered (table storage), or a
 * retry row for it (log storage, where a delivery at its first attempt leaves no row).
 */
export async function redeliver(ds: Queryable, id: string, subscriber: string): Promise<void> {
  await ds.query(
    `INSERT INTO flowbus_outbox (id, destination, subscriber, type, key, payload, headers)
     SELECT id, 'local', $2, type, key, payload, headers FROM flowbus_log WHERE id = $1
     ON CONFLICT (id, subscriber) DO NOTHING`,
    [id, subscriber],
  );
  await ds.query(
    'UPDATE flowbus_outbox SET delivered_at = NULL, next_attempt_at = now() WHERE id = $1 AND subscriber = $2',
    [id, subscriber],
  );
}

/**
 * Deliveries not done yet, on either storage: undelivered `flowbus_outbox` rows (every row on the
 * table storage; retries and parked rows on the log), plus, on the log, each row per durable
 * subscriber of its type or per its own destination whose cursor is not past it, nor its partial
 * window done past it (routes of published events are not counted).
 */
export async function undelivered(ds: Queryable): Promise<number> {
  const [row] = await ds.query(
    `SELECT (SELECT count(*) FROM flowbus_outbox WHERE delivered_at IS NULL)
      + (SELECT count(*) FROM flowbus_log l
          JOIN flowbus_cursor c ON c.part = l.part AND (c.subscriber = 'destination:' || l.destination
            OR (l.destination IS NULL AND c.subscriber IN (
              SELECT 'local:' || s.subscriber FROM flowbus_subscriber s WHERE s.event_type = l.type)))
          JOIN flowbus_tick t ON t.id = c.tick_id
          LEFT JOIN flowbus_tick w ON w.id = c.window_end
        WHERE NOT pg_visible_in_snapshot(l.txid, t.snap)
          AND NOT COALESCE(l.seq <= c.done_seq AND pg_visible_in_snapshot(l.txid, w.snap), false)
          AND NOT EXISTS (SELECT 1 FROM flowbus_outbox o
            WHERE o.id = l.id AND o.subscriber = CASE WHEN c.subscriber LIKE 'local:%' THEN substr(c.subscriber, 7) ELSE '' END)
       ) AS n`,
  );
  return Number(row.n);
}

/** Leases held on either storage: claimed `flowbus_outbox` rows, and leased log cursors. */
export async function leasesHeld(ds: Queryable): Promise<number> {
  const [row] = await ds.query(
    `SELECT (SELECT count(*) FROM flowbus_outbox WHERE lock_owner IS NOT NULL)
      + (SELECT count(*) FROM flowbus_cursor WHERE owner IS NOT NULL) AS n`,
  );
  return Number(row.n);
}

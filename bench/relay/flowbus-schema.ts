import type pg from 'pg';
import { OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp, type FlowbusApp } from '../support/flowbus-app.js';
import { noopDestination, orderMessage } from './noop-destination.js';

/*
 * What the relay bench knows of the library's tables: nothing but their `flowbus_` prefix. Rows are
 * written through `OutboxService`, delivery is observed through a destination or `drainOutbox`, and
 * these helpers only list the schema's `flowbus_` tables, so the bench measures whichever storage
 * design the library has (0.1's `flowbus_outbox` table, or a log with cursors) without change.
 */

const FLOWBUS_TABLES = `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
  WHERE schemaname = $1 AND tablename LIKE 'flowbus\\_%'`;

/** Drops `schema` and everything in it: the next app started on it migrates a fresh one. */
export async function resetSchema(db: pg.Client, schema: string): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

async function flowbusTables(db: pg.Client, schema: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(FLOWBUS_TABLES, [schema]);
  return rows.map((r) => r.name);
}

/** Refreshes the planner statistics of every `flowbus_` table of `schema`. */
export async function analyzeFlowbusTables(db: pg.Client, schema: string): Promise<void> {
  for (const name of await flowbusTables(db, schema)) await db.query(`ANALYZE ${name}`);
}

/** Bytes of every `flowbus_` table of `schema` with its indexes and TOAST (`pg_total_relation_size`). */
export async function flowbusTablesBytes(db: pg.Client, schema: string): Promise<number> {
  const { rows } = await db.query<{ bytes: string | null }>(
    `SELECT sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass))::bigint AS bytes
     FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'flowbus\\_%'`,
    [schema],
  );
  return Number(rows[0]?.bytes ?? 0);
}

/** Live rows over every `flowbus_` table of `schema` (exact counts). */
export async function flowbusRowCount(db: pg.Client, schema: string): Promise<number> {
  const names = await flowbusTables(db, schema);
  if (names.length === 0) return 0;
  const { rows } = await db.query<{ n: string }>(
    `SELECT (${names.map((n) => `(SELECT count(*) FROM ${n})`).join(' + ')})::bigint AS n`,
  );
  return Number(rows[0]!.n);
}

/** WAL position of the server now (`pg_current_wal_lsn()`). */
export async function walLsn(db: pg.Client): Promise<string> {
  const { rows } = await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return rows[0]!.lsn;
}

/** WAL bytes written since `from` (`pg_wal_lsn_diff`). */
export async function walBytesSince(db: pg.Client, from: string): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>(
    'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS bytes',
    [from],
  );
  return Number(rows[0]!.bytes);
}

/** Most rows one `OutboxService.enqueue` call is given by the seeder (the service splits INSERTs itself). */
const SEED_CHUNK = 5_000;

/**
 * A producer app in the bench parent (relay off, `relay.notify` on, timeouts off): writes backlogs
 * with `OutboxService.enqueue` in one transaction, so relays in other processes are woken by the
 * commit's NOTIFY, as by a producer in another instance.
 */
export class OutboxSeeder {
  private app: FlowbusApp | undefined;

  constructor(
    private readonly url: string,
    private readonly schema: string,
  ) {}

  /** Writes `n` messages to the no-op destination in one transaction, then refreshes statistics. */
  async seed(n: number): Promise<void> {
    this.app ??= await startFlowbusApp({
      databaseUrl: this.url,
      options: {
        schema: this.schema,
        destinations: { noop: noopDestination(() => undefined) },
        relay: { enabled: false, notify: true },
        timeouts: { enabled: false },
      },
      poolSize: 2,
    });
    const outbox = this.app.app.get(OutboxService);
    await outbox.transaction(async (manager) => {
      for (let i = 0; i < n; i += SEED_CHUNK) {
        const messages = Array.from({ length: Math.min(SEED_CHUNK, n - i) }, (_, j) => orderMessage(i + j + 1));
        await outbox.enqueue(manager, messages);
      }
      // In the writing transaction (ANALYZE sees its own rows): fresh statistics at the commit.
      const tables = (await manager.query(FLOWBUS_TABLES, [this.schema])) as { name: string }[];
      for (const t of tables) await manager.query(`ANALYZE ${t.name}`);
    });
  }

  async close(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }
}

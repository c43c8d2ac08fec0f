import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { poolOf } from '../libs/flowbus/src/database/pg-pool.js';
import { LogGenerations0007Migration } from '../libs/flowbus/src/migrations/0007-log-generations.migration.js';
import { runMigrations } from '../libs/flowbus/src/migrations/migration.runner.js';
import { LogReader } from '../libs/flowbus/src/outbox/log-reader.js';
import {
  LOG_GENERATIONS,
  appendToLog,
  logPage,
  rotateLog,
  subscriberLag,
  type CursorLease,
  type LogInsertRow,
  type SubscriberFilter,
} from '../libs/flowbus/src/outbox/log.queries.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * The append-only log of issue #9, on a real PostgreSQL: snapshot ticks, (subscriber, part)
 * cursors with fenced leases. Each test uses its own subscriber names (cursors start at the tick
 * they are registered at, so earlier tests' rows are not theirs).
 */

let db: TestDatabase;
let ds: DataSource;
let pool: pg.Pool;
let reader: LogReader;
const clients: pg.Client[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  await runMigrations(ds, 'public', { log: false });
  pool = poolOf(ds);
  reader = new LogReader(pool, 'public');
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await ds.destroy();
  await db.drop();
});

async function client(url = db.url): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

function row(type: string, key: string | null = null, destination: string | null = null): LogInsertRow {
  return {
    id: randomUUID(),
    destination,
    type,
    key,
    payload: JSON.stringify({ n: type }),
    headers: '{}',
    availableAt: null,
  };
}

async function append(c: pg.Client | pg.Pool, rows: LogInsertRow[], schema = 'public'): Promise<string[]> {
  await c.query(appendToLog(schema, rows));
  return rows.map((r) => r.id);
}

/** One relay round for `subscriber`: lease, tick, read every batch in full, advance. Returns the ids read. */
async function round(
  subscriber: string,
  filter: SubscriberFilter,
  owner = 'relay-1',
  opts: { leaseMs?: number; max?: number; pageSize?: number; advance?: boolean; reader?: LogReader } = {},
): Promise<{ ids: string[]; advanced: number; leases: CursorLease[] }> {
  const leaseMs = opts.leaseMs ?? 30_000;
  const r = opts.reader ?? reader;
  const leases = await r.lease(subscriber, owner, new Date(), leaseMs, opts.max);
  const to = await r.tick();
  const ids: string[] = [];
  let advanced = 0;
  for (const batch of await r.batches(subscriber, leases, to)) {
    for await (const page of r.pages(batch, filter, opts.pageSize ?? 100)) {
      for (const row of page) ids.push(row.id);
    }
    if (opts.advance !== false) advanced += await r.advance(batch, owner, new Date(), leaseMs);
  }
  return { ids, advanced, leases };
}

const events = (...types: string[]): SubscriberFilter => ({ destination: null, types });

describe('ticks', () => {
  it('refuses a tick inside a transaction that has written, and allows one outside', async () => {
    const c = await client();
    await c.query('BEGIN');
    await append(c, [row('Refused')]);
    await expect(c.query('SELECT flowbus_tick()')).rejects.toThrow(/flowbus_tick\(\) refused/);
    await c.query('ROLLBACK');
    await c.query('BEGIN');
    await c.query('SELECT 1'); // no xid yet: a read-only transaction may tick
    await expect(c.query('SELECT flowbus_tick() AS id')).resolves.toBeDefined();
    await c.query('COMMIT');
  });
});

describe('visibility', () => {
  it('does not wait for a producer transaction held open while thousands of later ones commit, and delivers its rows once when it commits', async () => {
    const sub = 'long-tx';
    await reader.register(sub);
    const long = await client();
    await long.query('BEGIN');
    const held = await append(long, [row('Long'), row('Long')]);
    const seen: string[] = [];
    const later: string[] = [];
    const producers = await Promise.all([client(), client(), client(), client()]);
    for (let wave = 0; wave < 5; wave++) {
      // 400 transactions per wave, one row each, from 4 connections; then a relay round.
      await Promise.all(
        producers.map(async (p) => {
          for (let i = 0; i < 100; i++) later.push(...(await append(p, [row('Long')])));
        }),
      );
      const r = await round(sub, events('Long'));
      seen.push(...r.ids);
      // Every committed later row is read already: nothing waits for the open transaction.
      expect(new Set(seen)).toEqual(new Set(later));
    }
    expect(later).toHaveLength(2000);
    await long.query('COMMIT');
    seen.push(...(await round(sub, events('Long'))).ids);
    seen.push(...(await round(sub, events('Long'))).ids);
    expect(seen.filter((id) => held.includes(id))).toEqual(held);
    expect(seen).toHaveLength(2002);
    expect(new Set(seen).size).toBe(2002);
  });

  it("keeps a key's rows in commit order when xid order differs from lock order", async () => {
    const sub = 'key-order';
    await reader.register(sub);
    const [a, b, cc] = await Promise.all([client(), client(), client()]);
    await b.query('BEGIN');
    const xidB = (await b.query('SELECT pg_current_xact_id()::text AS x')).rows[0].x as string;
    await cc.query('BEGIN');
    await cc.query('SELECT pg_current_xact_id()'); // a long transaction holding an xid
    await a.query('BEGIN');
    const [rowA] = await append(a, [row('Keyed', 'k1')]); // A takes the key lock first...
    const xidA = (await a.query('SELECT pg_current_xact_id()::text AS x')).rows[0].x as string;
    expect(BigInt(xidB)).toBeLessThan(BigInt(xidA)); // ...though B has the older xid
    const bWrites = append(b, [row('Keyed', 'k1')]); // waits for A's key lock
    await new Promise((r) => setTimeout(r, 50));
    const first = await round(sub, events('Keyed'));
    expect(first.ids).toEqual([]);
    await a.query('COMMIT');
    const [rowB] = await bWrites;
    const second = await round(sub, events('Keyed')); // A committed, B not yet
    await b.query('COMMIT');
    const third = await round(sub, events('Keyed'));
    await cc.query('COMMIT');
    const fourth = await round(sub, events('Keyed'));
    expect([...first.ids, ...second.ids, ...third.ids, ...fourth.ids]).toEqual([rowA, rowB]);
    const seqs = await pool.query('SELECT id, seq FROM flowbus_log WHERE id = ANY($1) ORDER BY seq', [[rowA, rowB]]);
    expect(seqs.rows.map((r: { id: string }) => r.id)).toEqual([rowA, rowB]);
  });

  it("reads a transaction that had taken its seqs, with an xid past a tick snapshot's xmax, when it commits", async () => {
    // A snapshot's xmax is one past the latest *completed* xid: P below runs, with its rows
    // written, though its xid is >= tick t's xmax. A floor taken from t's xmax lost P's rows.
    const sub = 'xmax-floor';
    await reader.register(sub);
    await reader.tick(); // tick0: the latest completed xid is its own
    const [q, p] = await Promise.all([client(), client()]);
    await q.query('BEGIN');
    await q.query('SELECT pg_current_xact_id()'); // Q: an older xid, still running
    await p.query('BEGIN');
    const rowsOfP = await append(p, [row('Xmax'), row('Xmax')]);
    await reader.tick(); // tick t, with nothing completed since tick0: P's seqs <= its lo_seq, P's xid >= its xmax
    await q.query('COMMIT');
    expect((await round(sub, events('Xmax'))).ids).toEqual([]); // tick a: xmin = P's xid
    await p.query('COMMIT');
    expect((await round(sub, events('Xmax'))).ids).toEqual(rowsOfP);
  });

  it('skips rolled-back rows and savepoints rolled back, keeps released ones', async () => {
    const sub = 'rollbacks';
    await reader.register(sub);
    const c = await client();
    await c.query('BEGIN');
    await append(c, [row('Rb')]);
    await c.query('ROLLBACK');
    await c.query('BEGIN');
    const [kept] = await append(c, [row('Rb')]);
    await c.query('SAVEPOINT s1');
    await append(c, [row('Rb')]);
    await c.query('ROLLBACK TO SAVEPOINT s1');
    await c.query('SAVEPOINT s2');
    const [released] = await append(c, [row('Rb')]);
    await c.query('RELEASE SAVEPOINT s2');
    await c.query('COMMIT');
    expect((await round(sub, events('Rb'))).ids).toEqual([kept, released]);
  });

  it('delivers a prepared transaction once, after COMMIT PREPARED, without waiting for it before', async () => {
    const max = Number((await pool.query('SHOW max_prepared_transactions')).rows[0].max_prepared_transactions);
    if (max === 0) {
      console.warn('max_prepared_transactions = 0 on this server: prepared-transaction check skipped');
      return;
    }
    const sub = 'prepared';
    await reader.register(sub);
    const c = await client();
    const gid = `flowbus-${randomUUID()}`;
    await c.query('BEGIN');
    const prepared = await append(c, [row('Prep')]);
    await c.query(`PREPARE TRANSACTION '${gid}'`);
    const after = await append(pool, [row('Prep')]);
    expect((await round(sub, events('Prep'))).ids).toEqual(after);
    await pool.query(`COMMIT PREPARED '${gid}'`);
    expect((await round(sub, events('Prep'))).ids).toEqual(prepared);
    expect((await round(sub, events('Prep'))).ids).toEqual([]);
  });

  it('does not wait for a writing transaction in another database of the server', async () => {
    const sub = 'other-db';
    await reader.register(sub);
    const other = await createTestDatabase();
    try {
      const c = await client(other.url);
      await c.query('CREATE TABLE t (n int)');
      await c.query('BEGIN');
      await c.query('INSERT INTO t VALUES (1)');
      const mine = await append(pool, [row('Other'), row('Other')]);
      expect((await round(sub, events('Other'))).ids).toEqual(mine);
      await c.query('COMMIT');
      await c.end();
    } finally {
      await other.drop();
    }
  });
});

describe('cursors', () => {
  it('fans out: 5 subscribers of one event, 1 row written, 5 deliveries', async () => {
    const subs = ['fan-a', 'fan-b', 'fan-c', 'fan-d', 'fan-e'];
    for (const s of subs) await reader.register(s);
    const before = Number((await pool.query('SELECT count(*) FROM flowbus_log')).rows[0].count);
    const [id] = await append(pool, [row('Fanned')]);
    expect(Number((await pool.query('SELECT count(*) FROM flowbus_log')).rows[0].count)).toBe(before + 1);
    for (const s of subs) expect((await round(s, events('Fanned'))).ids).toEqual([id]);
    for (const s of subs) expect((await round(s, events('Fanned'))).ids).toEqual([]);
  });

  it('reads rows enqueued for a destination and published events of its types, nothing else', async () => {
    const sub = 'dest-billing';
    await reader.register(sub);
    const mine = await append(pool, [row('Invoice', null, 'billing'), row('Routed')]);
    await append(pool, [row('Invoice', null, 'shipping'), row('NotRouted')]);
    expect((await round(sub, { destination: 'billing', types: ['Routed'] })).ids).toEqual(mine);
  });

  it("fences a stale owner: after a takeover its cursor update is rejected, the new owner's is applied", async () => {
    const sub = 'fenced';
    await reader.register(sub);
    const stale = await reader.lease(sub, 'relay-a', new Date(), 1);
    expect(stale).toHaveLength(16);
    await new Promise((r) => setTimeout(r, 20));
    const ids = await append(pool, [row('Fence'), row('Fence', 'k')]);
    const fresh = await round(sub, events('Fence'), 'relay-b'); // takes over the expired leases
    expect(fresh.ids.sort()).toEqual([...ids].sort());
    expect(fresh.advanced).toBe(16);
    expect(fresh.leases.every((l, i) => BigInt(l.epoch) === BigInt(stale[i]!.epoch) + 1n)).toBe(true);
    const to = await reader.tick();
    let staleMoved = 0;
    for (const batch of await reader.batches(sub, stale, to))
      staleMoved += await reader.advance(batch, 'relay-a', new Date(), 1000);
    expect(staleMoved).toBe(0);
    const cursors = await pool.query('SELECT DISTINCT owner FROM flowbus_cursor WHERE subscriber = $1', [sub]);
    expect(cursors.rows).toEqual([{ owner: 'relay-b' }]);
  });

  it.each([2, 3])('%i relays deliver every row exactly once when none crashes', async (relays) => {
    const sub = `relays-${relays}`;
    await reader.register(sub);
    const written: string[] = [];
    const delivered: string[] = [];
    let producing = true;
    const producer = (async () => {
      for (let i = 0; i < 60; i++) {
        const rows = Array.from({ length: 25 }, (_, j) => row('Many', j % 3 === 0 ? `k${j % 7}` : null));
        written.push(...(await append(pool, rows)));
      }
      producing = false;
    })();
    const loops = Array.from({ length: relays }, async (_, n) => {
      const max = Math.ceil(16 / relays);
      for (;;) {
        const done = !producing;
        const r = await round(sub, events('Many'), `relay-${n}`, { max, pageSize: 50 });
        delivered.push(...r.ids);
        if (done) return;
      }
    });
    await Promise.all([producer, ...loops]);
    expect(delivered).toHaveLength(written.length);
    expect(new Set(delivered)).toEqual(new Set(written));
  });

  it('delivers at least once when a relay dies between delivering and advancing', async () => {
    const sub = 'killed';
    await reader.register(sub);
    const written = await append(
      pool,
      Array.from({ length: 200 }, () => row('Kill')),
    );
    // relay-dead reads its batch and "dies" before advancing; its lease expires.
    const dead = await round(sub, events('Kill'), 'relay-dead', { leaseMs: 50, advance: false });
    expect(dead.ids).toEqual(written);
    await new Promise((r) => setTimeout(r, 60));
    const survivor = await round(sub, events('Kill'), 'relay-alive');
    expect(new Set(survivor.ids)).toEqual(new Set(written));
    expect((await round(sub, events('Kill'), 'relay-alive')).ids).toEqual([]);
  });

  it("reads the first page of a batch in the tick's own message, with its values inlined safely", async () => {
    const sub = 'prefetch';
    await reader.register(sub);
    const leases = await reader.lease(sub, 'relay-1', new Date(), 30_000);
    const from = await reader.tickById(leases[0]!.tick_id);
    const type = "O'Brien\\'; DROP TABLE flowbus_log; --";
    const ids = await append(pool, [row(type), row('Other'), row(type, 'k')]);
    const first = { filter: events(type), after: from.floor_seq, snapA: from.snap, limit: 10 };
    const { to, pages } = await reader.tickWithPages([first, { ...first, filter: events('Other') }]);
    expect(pages.map((p) => p.map((r) => r.id))).toEqual([[ids[0], ids[2]], [ids[1]]]);
    expect(pages[0]![0]).toMatchObject({ type, payload: { n: type }, key: null });
    // The same rows as the batch read page by page after the tick.
    const [batch] = await reader.batches(sub, leases, to);
    const read: string[] = [];
    for await (const page of reader.pages(batch!, events(type), 10)) read.push(...page.map((r) => r.id));
    expect(read).toEqual([ids[0], ids[2]]);
  });

  it('prunes ticks no cursor needs', async () => {
    for (let i = 0; i < 20; i++) await reader.tick();
    await reader.prune();
    const { rows } = await pool.query(
      'SELECT count(*)::int AS n FROM flowbus_tick WHERE id < (SELECT min(tick_id) FROM flowbus_cursor)',
    );
    expect(rows[0].n).toBe(0);
    // Every cursor's tick is still there.
    const missing = await pool.query(
      'SELECT count(*)::int AS n FROM flowbus_cursor c WHERE NOT EXISTS (SELECT 1 FROM flowbus_tick t WHERE t.id = c.tick_id)',
    );
    expect(missing.rows[0].n).toBe(0);
  });
});

describe('planner', () => {
  it('pages a 300k-row window on the seq index, on a table never analysed', async () => {
    const c = await client();
    await c.query('CREATE SCHEMA trap');
    await runMigrations(ds, 'trap', { log: false });
    for (let g = 0; g < LOG_GENERATIONS; g++) {
      await c.query(`ALTER TABLE trap.flowbus_log_g${g} SET (autovacuum_enabled = false)`);
    }
    const trap = new LogReader(pool, 'trap');
    await trap.register('trap-sub');
    // The window spans two generations: the rows are read from both partitions, merged by seq.
    for (const half of [0, 1]) {
      if (half === 1)
        expect(
          (await c.query(rotateLog('trap', { now: new Date(), retentionMs: 1e9, rotateMs: 0 }))).rows[0].switchedTo,
        ).toBe(1);
      await c.query(`INSERT INTO trap.flowbus_log (id, type, payload)
        SELECT gen_random_uuid(), 'Trap', '{}'::jsonb FROM generate_series(1, 150000)`);
    }
    const analysed = await c.query(
      "SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE schemaname = 'trap' AND relname = 'flowbus_log_g0'",
    );
    expect(analysed.rows[0]).toEqual({ last_analyze: null, last_autoanalyze: null });
    const leases = await trap.lease('trap-sub', 'r', new Date(), 30_000);
    const lease = leases[0];
    const from = await trap.tickById(lease!.tick_id);
    const to = await trap.tick();
    // auto_explain logs the plan of the statement inside flowbus_log_page(); with
    // client_min_messages = log, the server sends that log line to this client as a notice.
    const plans: string[] = [];
    c.on('notice', (n) => {
      if (n.message?.includes('Query Text')) plans.push(n.message);
    });
    await c.query("LOAD 'auto_explain'");
    await c.query('SET auto_explain.log_min_duration = 0');
    await c.query('SET auto_explain.log_nested_statements = on');
    await c.query('SET auto_explain.log_format = json');
    await c.query('SET client_min_messages = log');
    for (const mode of ['force_custom_plan', 'force_generic_plan']) {
      await c.query(`SET plan_cache_mode = ${mode}`);
      const page = logPage('trap', {
        filter: events('Trap'),
        parts: undefined,
        after: from.floor_seq,
        hi: to.hi_seq,
        snapA: from.snap,
        snapB: to.snap,
        limit: 500,
      });
      expect((await c.query(page.text, page.values)).rows).toHaveLength(500);
    }
    await c.query('SET client_min_messages = notice');
    const nested = plans.filter((p) => p.includes('l.seq > p_after'));
    expect(nested.length).toBeGreaterThanOrEqual(2);
    for (const plan of nested) {
      // The seq index of each generation's partition, merged in seq order.
      expect(plan).toContain('"Index Name": "flowbus_log_g0_seq_idx"');
      expect(plan).toContain('"Index Name": "flowbus_log_g1_seq_idx"');
      expect(plan).not.toContain('"Node Type": "Sort"');
      expect(plan).not.toContain('Bitmap');
    }
    // The same statement without the function's settings falls into the trap (the check can fail).
    const bare = await c.query(
      `EXPLAIN (FORMAT JSON) SELECT seq FROM trap.flowbus_log l WHERE l.seq > $1 AND l.seq <= $2
        AND l.destination IS NULL AND l.type = ANY($3) AND pg_visible_in_snapshot(l.txid, $4::pg_snapshot)
        AND NOT pg_visible_in_snapshot(l.txid, $5::pg_snapshot) ORDER BY l.seq LIMIT 500`,
      [from.floor_seq, to.hi_seq, ['Trap'], to.snap, from.snap],
    );
    expect(JSON.stringify(bare.rows[0])).toContain('"Node Type":"Sort"');
    let read = 0;
    for (const batch of await trap.batches('trap-sub', leases, to)) {
      for await (const rows of trap.pages(batch, events('Trap'), 500)) read += rows.length;
    }
    expect(read).toBe(300_000);
  });
});

describe('generations', () => {
  /** A schema of its own: the cursors other tests left behind would hold its generations. */
  async function logSchema(name: string): Promise<LogReader> {
    await pool.query(`CREATE SCHEMA ${name}`);
    await runMigrations(ds, name, { log: false });
    return new LogReader(pool, name);
  }

  /** One retention step: retention and rotation periods 0 unless given. */
  async function rotate(schema: string, opts: { retentionMs?: number; rotateMs?: number } = {}) {
    const q = rotateLog(schema, { now: new Date(), retentionMs: opts.retentionMs ?? 0, rotateMs: opts.rotateMs ?? 0 });
    return (await pool.query<{ truncated: number[]; switchedTo: number | null }>(q)).rows[0]!;
  }

  const rowsIn = async (schema: string, gen: number) =>
    Number((await pool.query(`SELECT count(*) FROM ${schema}.flowbus_log WHERE gen = $1`, [gen])).rows[0].count);

  it('rotates and empties generations while producers write and a relay reads: every row delivered once', async () => {
    const schema = 'gen_load';
    const r = await logSchema(schema);
    await r.register('load');
    const written: string[] = [];
    const delivered: string[] = [];
    let producing = true;
    let reading = true;
    const producers = await Promise.all([client(), client(), client(), client()]);
    const produce = Promise.all(
      producers.map(async (p, n) => {
        for (let i = 0; i < 60; i++) {
          const rows = Array.from({ length: 20 }, (_, j) => row('Rot', j % 2 === 0 ? `k${n}-${j % 5}` : null));
          written.push(...(await append(p, rows, schema)));
        }
      }),
    ).then(() => (producing = false));
    const relay = (async () => {
      for (;;) {
        const done = !producing;
        delivered.push(...(await round('load', events('Rot'), 'relay-1', { reader: r, pageSize: 50 })).ids);
        if (done) return;
      }
    })().then(() => (reading = false));
    let switches = 0;
    let emptied = 0;
    const rotator = (async () => {
      while (reading) {
        const step = await rotate(schema);
        if (step.switchedTo !== null) switches++;
        emptied += step.truncated.length;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await Promise.all([produce, relay, rotator]);
    expect(delivered).toHaveLength(written.length);
    expect(new Set(delivered)).toEqual(new Set(written));
    expect(switches).toBeGreaterThanOrEqual(3);
    expect(emptied).toBeGreaterThanOrEqual(2);
    // Everything is read: two switches empty every generation that holds rows.
    for (let i = 0; i < 4; i++) await rotate(schema);
    expect(Number((await pool.query(`SELECT count(*) FROM ${schema}.flowbus_log`)).rows[0].count)).toBe(0);
  });

  it('keeps a generation a lagging subscriber has not read (shown in its lag), and empties it once it has', async () => {
    const schema = 'gen_lag';
    const r = await logSchema(schema);
    await r.register('fast');
    await r.register('slow');
    const ids = await append(
      pool,
      Array.from({ length: 20 }, () => row('Lag')),
      schema,
    );
    expect((await round('fast', events('Lag'), 'relay-1', { reader: r })).ids).toEqual(ids);
    expect(await rotate(schema)).toEqual({ truncated: [], switchedTo: 1 });
    expect(await rotate(schema)).toEqual({ truncated: [], switchedTo: null });
    expect(await rowsIn(schema, 0)).toBe(20);
    const lag = async (retentionMs = 0) =>
      Object.fromEntries(
        (await pool.query(subscriberLag(schema, new Date(), retentionMs))).rows.map(
          (l: { subscriber: string; blocksRetention: boolean }) => [l.subscriber, l.blocksRetention],
        ),
      );
    expect(await lag()).toEqual({ fast: false, slow: true });
    // Not due yet (closed less than retentionMs ago): nobody holds it back.
    expect(await lag(60_000)).toEqual({ fast: false, slow: false });
    expect((await round('slow', events('Lag'), 'relay-1', { reader: r })).ids).toEqual(ids);
    expect(await rotate(schema, { retentionMs: 60_000 })).toEqual({ truncated: [], switchedTo: null });
    expect(await lag()).toEqual({ fast: false, slow: false });
    expect(await rotate(schema)).toEqual({ truncated: [0], switchedTo: null });
    expect(await rowsIn(schema, 0)).toBe(0);
  });

  it('keeps the rows of a producer transaction open across a switch, and delivers them once', async () => {
    const schema = 'gen_open';
    const r = await logSchema(schema);
    await r.register('sub');
    const read = async () => (await round('sub', events('Open'), 'relay-1', { reader: r })).ids;
    // A transaction that has written into generation 0, open while it is closed and due.
    const open = await client();
    await open.query('BEGIN');
    const held = await append(open, [row('Open'), row('Open')], schema);
    const others = await append(pool, [row('Open')], schema);
    expect(await rotate(schema)).toEqual({ truncated: [], switchedTo: 1 });
    expect(await read()).toEqual(others);
    // Generation 0 looks consumed (the open rows are invisible) but is locked by the writer.
    expect((await rotate(schema)).truncated).toEqual([]);
    await open.query('COMMIT');
    expect(await read()).toEqual(held);
    expect(await rotate(schema)).toEqual({ truncated: [0], switchedTo: null });

    // A writer whose snapshot predates a switch writes into the generation it saw: its rows keep
    // that generation (closed, due) from being emptied until they are read.
    const stale = await client();
    await stale.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await stale.query('SELECT 1'); // its snapshot: generation 1 is the current one
    const before = await append(pool, [row('Open')], schema);
    expect(await rotate(schema)).toEqual({ truncated: [], switchedTo: 2 });
    const late = await append(stale, [row('Open')], schema);
    expect(await read()).toEqual(before);
    // A retention step waits (briefly) for the writer's lock, and looks at the rows only once it
    // holds it: rows committed while it waited are seen, not emptied unread.
    const step = rotate(schema);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await stale.query('COMMIT');
    expect((await step).truncated).toEqual([]);
    expect(await rowsIn(schema, 1)).toBe(2);
    expect((await rotate(schema)).truncated).toEqual([]); // committed, not read yet
    expect(await read()).toEqual(late);
    expect(await rotate(schema)).toEqual({ truncated: [1], switchedTo: null });

    // Even into a generation emptied since its snapshot: the rows are read all the same.
    const staler = await client();
    await staler.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await staler.query('SELECT 1'); // generation 2 is the current one
    const last = await append(pool, [row('Open')], schema);
    expect(await rotate(schema)).toEqual({ truncated: [], switchedTo: 0 });
    expect(await read()).toEqual(last);
    expect(await rotate(schema)).toEqual({ truncated: [2], switchedTo: null });
    const latest = await append(staler, [row('Open')], schema);
    await staler.query('COMMIT');
    expect(await rowsIn(schema, 2)).toBe(1);
    expect(await read()).toEqual(latest);
    expect(await read()).toEqual([]);
  });

  it('keeps the rows of a log written before generations, and delivers the unread ones once after the upgrade', async () => {
    const schema = 'gen_upgrade';
    const r = await logSchema(schema);
    // Back to 0004's table (0007's down), as a schema migrated before 0007 has it.
    const runner = ds.createQueryRunner();
    await runner.connect();
    await new LogGenerations0007Migration(schema).down(runner);
    await runner.release();
    await pool.query(`DELETE FROM ${schema}.flowbus_migrations WHERE id = 7`);
    // A role granted the old log: it keeps what it needs on the new one.
    const role = `gen_upgrade_${randomUUID().slice(0, 8)}`;
    await pool.query(`CREATE ROLE ${role} NOLOGIN`);
    await pool.query(`GRANT SELECT, INSERT, DELETE ON ${schema}.flowbus_log TO ${role}`);
    await pool.query(`GRANT SELECT ON SEQUENCE ${schema}.flowbus_log_seq TO ${role}`);
    await r.register('old');
    const oldRows = async (n: number) =>
      (
        await pool.query(`INSERT INTO ${schema}.flowbus_log (id, type, payload)
          SELECT gen_random_uuid(), 'Up', '{}'::jsonb FROM generate_series(1, ${n}) RETURNING id`)
      ).rows.map((x: { id: string }) => x.id);
    const read = async () => (await round('old', events('Up'), 'relay-1', { reader: r })).ids;
    const first = await oldRows(3);
    expect(await read()).toEqual(first);
    const pending = await oldRows(4);
    expect(await runMigrations(ds, schema, { log: false })).toEqual([7]);
    const granted = await pool.query(
      `SELECT has_table_privilege($1, '${schema}.flowbus_log', 'INSERT') AS insert,
        has_table_privilege($1, '${schema}.flowbus_log_gen', 'UPDATE') AS switch,
        has_table_privilege($1, '${schema}.flowbus_log_g2', 'TRUNCATE') AS empty,
        has_sequence_privilege($1, '${schema}.flowbus_log_seq', 'SELECT') AS seq`,
      [role],
    );
    expect(granted.rows[0]).toEqual({ insert: true, switch: true, empty: true, seq: true });
    await pool.query(`DROP OWNED BY ${role}`);
    await pool.query(`DROP ROLE ${role}`);
    expect(await rowsIn(schema, 0)).toBe(7);
    expect(await read()).toEqual(pending);
    const after = await append(pool, [row('Up'), row('Up')], schema);
    expect(await read()).toEqual(after);
    expect(await read()).toEqual([]);
  });
});

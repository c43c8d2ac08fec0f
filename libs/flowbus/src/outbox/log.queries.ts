import { escapeLiteral } from 'pg';
import { quoteSchema, table } from '../database/sql-identifiers.js';
import type { ClaimedRow, Query, RowFilter } from './outbox.queries.js';

/** Partitions of the log (see 0004-log.migration): cursors exist per (subscriber, part). */
export const LOG_PARTITIONS = 16;
/** Generations of the log (see 0007-log-generations.migration): partitions `flowbus_log_g0`… in a ring. */
export const LOG_GENERATIONS = 3;

/** A statement with a name: node-postgres prepares it once per connection (no parse/plan per call). */
export interface NamedQuery extends Query {
  readonly name: string;
}

/** A message to append to the log. `destination` null: a published event, for every subscriber of its type. */
export interface LogInsertRow {
  id: string;
  destination: string | null;
  type: string;
  key: string | null;
  /** JSON text. */
  payload: string;
  /** JSON text. */
  headers: string;
  availableAt: Date | null;
}

/** A row of a batch, as the relay reads it. */
export interface LogRow {
  seq: string;
  id: string;
  destination: string | null;
  type: string;
  key: string | null;
  part: number;
  payload: unknown;
  headers: Record<string, string>;
  available_at: Date | null;
  created_at: Date;
}

/** A tick as the reader needs it: the snapshot (as text) and the seq window bounds. */
export interface TickRow {
  id: string;
  snap: string;
  floor_seq: string;
  hi_seq: string;
}

/** A (subscriber, part) cursor this relay holds, with the epoch its lease was granted at. */
export interface CursorLease {
  part: number;
  tick_id: string;
  epoch: string;
  /** A partial window's end tick (see 0009-cursor-progress.migration), null between batches. */
  window_end: string | null;
  /** The last seq of the window (tick_id, window_end] delivered so far, null between batches. */
  done_seq: string | null;
}

/** A cursor just leased or advanced, and how many other relays read its subscriber. */
export interface LeasedCursor extends CursorLease {
  /** Other relays alive that announced themselves as readers of this subscriber (see relayHeartbeat). */
  others: number;
}

/** What a subscriber reads: rows enqueued for `destination`, and published events of `types`. */
export interface SubscriberFilter {
  destination: string | null;
  types: readonly string[];
}

function names(schema: string) {
  return {
    log: table(schema, 'flowbus_log'),
    tick: table(schema, 'flowbus_tick'),
    cursor: table(schema, 'flowbus_cursor'),
    gen: table(schema, 'flowbus_log_gen'),
    relay: table(schema, 'flowbus_relay'),
    tickFn: `${quoteSchema(schema)}.flowbus_tick()`,
  };
}

/**
 * Appends messages in ONE statement of a fixed text (arrays, not a VALUES list per row count), so
 * it is prepared once per connection. Keyed messages first take their keys' transaction-scoped
 * advisory locks, in key order (no deadlock between two producers of the same keys): the locks
 * are taken by an aggregate the INSERT joins, so all of them are held before the first row takes
 * its seq. A key's rows are therefore in commit order, whatever the order of the writers' xids.
 * The rows go to the current generation, read once per statement by a sub-select (not the
 * column's per-row default). With `notifyChannel`, PostgreSQL also queues the NOTIFY for relays in
 * other instances. `only` (an SQL condition on the row `v`) keeps the rows it holds for.
 */
export function appendToLog(
  schema: string,
  rows: readonly LogInsertRow[],
  notifyChannel?: string,
  only?: RowFilter,
): NamedQuery {
  if (rows.length === 1 && only === undefined) return appendOne(schema, rows[0]!, notifyChannel);
  const ids: string[] = [];
  const destinations: (string | null)[] = [];
  const types: string[] = [];
  const keys: (string | null)[] = [];
  const payloads: string[] = [];
  const headers: string[] = [];
  const at: (Date | null)[] = [];
  let keyed = false;
  for (const r of rows) {
    ids.push(r.id);
    destinations.push(r.destination);
    types.push(r.type);
    keys.push(r.key);
    payloads.push(r.payload);
    headers.push(r.headers);
    at.push(r.availableAt);
    if (r.key !== null) keyed = true;
  }
  const { log, gen } = names(schema);
  const values: unknown[] = [ids, destinations, types, keys, payloads, headers, at];
  const source = `unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::timestamptz[])
      AS v(id, destination, type, key, payload, headers, available_at)`;
  const locks = keyed
    ? `, (SELECT count(pg_advisory_xact_lock(hashtextextended(${lockPrefix(schema)} || k, 0))) AS n
         FROM (SELECT DISTINCT k FROM unnest($4::text[]) k WHERE k IS NOT NULL ORDER BY k) keys) locks`
    : '';
  let text = `INSERT INTO ${log} (id, destination, type, key, payload, headers, available_at, gen)
      SELECT v.id, v.destination, v.type, v.key, v.payload, v.headers, v.available_at,
        (SELECT g.gen FROM ${gen} g WHERE g.closed_at IS NULL)
      FROM ${source}${locks}${only ? `\n      WHERE ${only.condition}` : ''}`;
  if (notifyChannel !== undefined) {
    values.push(notifyChannel);
    text = `WITH appended AS (${text}) SELECT pg_notify($8, '')`;
  }
  return {
    name: `flowbus-append:${schema}:${keyed ? 'k' : ''}${notifyChannel === undefined ? '' : 'n'}${only ? ':only' : ''}`,
    text,
    values,
  };
}

/**
 * appendToLog of one row (a publish of one event, the common case): plain parameters instead of
 * arrays, so PostgreSQL neither parses arrays nor runs unnest (~30% more single-row appends per
 * second on one connection, measured against the array form). A key's lock is taken by an
 * aggregate the row is selected from, so it is held before the row takes its seq.
 */
function appendOne(schema: string, r: LogInsertRow, notifyChannel: string | undefined): NamedQuery {
  const { log, gen } = names(schema);
  const keyed = r.key !== null;
  const values: unknown[] = [r.id, r.destination, r.type, r.key, r.payload, r.headers, r.availableAt];
  let text = `INSERT INTO ${log} (id, destination, type, key, payload, headers, available_at, gen)
      SELECT $1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::jsonb, $7::timestamptz,
        (SELECT g.gen FROM ${gen} g WHERE g.closed_at IS NULL)${
          keyed
            ? `
      FROM (SELECT count(pg_advisory_xact_lock(hashtextextended(${lockPrefix(schema)} || $4::text, 0))) AS n) locks`
            : ''
        }`;
  if (notifyChannel !== undefined) {
    values.push(notifyChannel);
    text = `WITH appended AS (${text}) SELECT pg_notify($8, '')`;
  }
  return {
    name: `flowbus-append1:${schema}:${keyed ? 'k' : ''}${notifyChannel === undefined ? '' : 'n'}`,
    text,
    values,
  };
}

/** The advisory-lock namespace of a schema's keys, as an SQL literal. */
function lockPrefix(schema: string): string {
  return `'flowbus_key:${quoteSchema(schema).replace(/"/g, '')}:'`;
}

/** The first page of a subscriber's batch from tick `from` to the tick being taken (see takeTick). */
export interface FirstPage {
  filter: SubscriberFilter;
  /** `from`'s floor_seq: the batch's first page starts after it. */
  after: string;
  /** `from`'s snapshot, as text. */
  snapA: string;
  limit: number;
}

/**
 * Takes a tick (see flowbus_tick in 0004-log.migration), reads it back and reads the first page of
 * every batch in `firsts` (every partition of a subscriber, from one tick to this one), in ONE
 * round trip: statements in one simple-protocol message, which PostgreSQL runs as one implicit
 * transaction. flowbus_tick() holds the ticks' advisory lock until that transaction ends, so no
 * other tick is taken in between: the newest tick the later statements see is this one. A message
 * of several statements cannot carry parameters, so the pages' values are inlined as literals,
 * escaped by node-postgres. Must run outside any writing transaction.
 */
export function takeTick(schema: string, firsts: readonly FirstPage[] = []): Query {
  const { tick, tickFn } = names(schema);
  const latest = (column: string) => `(SELECT ${column} FROM ${tick} ORDER BY id DESC LIMIT 1)`;
  const pages = firsts.map((p) => {
    const types =
      p.filter.types.length === 0 ? "'{}'" : `ARRAY[${p.filter.types.map((t) => escapeLiteral(t)).join(', ')}]`;
    const destination = p.filter.destination === null ? 'NULL' : escapeLiteral(p.filter.destination);
    return `SELECT * FROM ${quoteSchema(schema)}.flowbus_log_page(${escapeLiteral(p.after)}::bigint, ${latest('hi_seq')},
      ${escapeLiteral(p.snapA)}::pg_snapshot, ${latest('snap')}, ${destination}::text, ${types}::text[], NULL,
      ${Math.trunc(p.limit)})`;
  });
  return {
    text: [
      `SELECT ${tickFn}`,
      `SELECT id, snap::text, floor_seq, hi_seq FROM ${tick} ORDER BY id DESC LIMIT 1`,
      ...pages,
    ].join('; '),
    values: [],
  };
}

export function getTick(schema: string, id: string): NamedQuery {
  return {
    name: `flowbus-get-tick:${schema}`,
    text: `SELECT id, snap::text, floor_seq, hi_seq FROM ${names(schema).tick} WHERE id = $1`,
    values: [id],
  };
}

export function latestTick(schema: string): NamedQuery {
  return {
    name: `flowbus-latest-tick:${schema}`,
    text: `SELECT id, snap::text, floor_seq, hi_seq FROM ${names(schema).tick} ORDER BY id DESC LIMIT 1`,
    values: [],
  };
}

/**
 * Creates the cursors of a subscriber that has none, at tick `startTick`: a new subscriber reads
 * what is committed after that tick (documented choice: it does not replay retained history).
 */
export function registerCursors(schema: string, subscriber: string, startTick: string): NamedQuery {
  return {
    name: `flowbus-register-cursors:${schema}`,
    text: `INSERT INTO ${names(schema).cursor} (subscriber, part, tick_id)
      SELECT $1, p, $2::bigint FROM generate_series(0, ${LOG_PARTITIONS - 1}) p
      ON CONFLICT (subscriber, part) DO NOTHING`,
    values: [subscriber, startTick],
  };
}

/**
 * Leases the cursors of `subscriber` that are already `owner`'s, and those free or expired up to
 * `max` in all: this relay's share (see LogRelay.share). Its own come first and are all renewed,
 * even beyond `max` (the share shrank since): the relay gives the excess back once it has
 * recorded their batch, not mid-way. Taking over from another owner bumps the epoch, which fences
 * that owner's later advances. SKIP LOCKED: two relays leasing at once split the cursors instead
 * of waiting for each other. Each row also counts the other relays alive.
 */
export function leaseCursors(
  schema: string,
  p: { subscriber: string; owner: string; now: Date; until: Date; max: number },
): NamedQuery {
  const { cursor } = names(schema);
  return {
    name: `flowbus-lease-cursors:${schema}`,
    text: `
      WITH candidate AS (
        SELECT subscriber, part, owner IS NOT DISTINCT FROM $2 AS mine FROM ${cursor}
        WHERE subscriber = $1 AND (owner IS NULL OR owner = $2 OR lease_until <= $3)
        FOR UPDATE SKIP LOCKED
      ), free AS (
        SELECT subscriber, part FROM (
          SELECT subscriber, part, mine, row_number() OVER (ORDER BY mine DESC, part) AS n FROM candidate
        ) ranked WHERE mine OR n <= $5
      )
      UPDATE ${cursor} c
      SET owner = $2, lease_until = $4, epoch = CASE WHEN c.owner IS DISTINCT FROM $2 THEN c.epoch + 1 ELSE c.epoch END
      FROM free WHERE c.subscriber = free.subscriber AND c.part = free.part
      RETURNING c.part, c.tick_id::text, c.epoch::text, c.window_end::text, c.done_seq::text,
        ${othersAlive(schema, '$1', '$2')} AS others`,
    values: [p.subscriber, p.owner, p.now, p.until, p.max],
  };
}

/** The relays other than `owner` alive as readers of `subscriber` (SQL parameters). */
function othersAlive(schema: string, subscriber: string, owner: string): string {
  return `(SELECT count(*) FROM ${names(schema).relay} r
    WHERE r.subscriber = ${subscriber} AND r.owner <> ${owner} AND r.alive_until > now())::int`;
}

/**
 * A relay announces itself as a reader of `subscribers` (see 0008-relays.migration), alive for
 * `leaseMs` of database time (the apps' clocks, test clocks included, may differ), and deletes the
 * rows of relays that expired (stopped without saying so).
 */
export function relayHeartbeat(
  schema: string,
  p: { owner: string; subscribers: readonly string[]; leaseMs: number },
): NamedQuery {
  const { relay } = names(schema);
  return {
    name: `flowbus-relay-heartbeat:${schema}`,
    text: `WITH beat AS (
        INSERT INTO ${relay} (subscriber, owner, alive_until)
        SELECT s, $1, now() + $3::float8 * interval '1 millisecond' FROM unnest($2::text[]) s
        ON CONFLICT (subscriber, owner) DO UPDATE SET alive_until = EXCLUDED.alive_until
      )
      DELETE FROM ${relay} WHERE alive_until <= now() AND owner <> $1`,
    values: [p.owner, p.subscribers, p.leaseMs],
  };
}

/** A relay that stops is no longer a reader: the others take their full share at once. */
export function relayGone(schema: string, owner: string): NamedQuery {
  return {
    name: `flowbus-relay-gone:${schema}`,
    text: `DELETE FROM ${names(schema).relay} WHERE owner = $1`,
    values: [owner],
  };
}

/**
 * One page of the batch (tick a, tick b] for a subscriber: the rows in the seq window
 * (after, b.hi_seq] visible in b's snapshot and not in a's, in seq order. `after` starts at
 * a.floor_seq and moves to the last seq of each page. Runs through flowbus_log_page() (see
 * 0004-log.migration), whose planner settings keep it on the primary key whatever the statistics
 * say; there is deliberately no index on txid for a planner to be tempted by.
 */
export function logPage(
  schema: string,
  p: {
    filter: SubscriberFilter;
    /** Partitions to read; all when undefined. */
    parts: readonly number[] | undefined;
    after: string;
    hi: string;
    snapA: string;
    snapB: string;
    limit: number;
  },
): NamedQuery {
  return {
    name: `flowbus-log-page:${schema}`,
    text: `SELECT * FROM ${quoteSchema(schema)}.flowbus_log_page($1, $2, $3, $4, $5, $6, $7, $8)`,
    values: [p.after, p.hi, p.snapA, p.snapB, p.filter.destination, p.filter.types, p.parts ?? null, p.limit],
  };
}

/**
 * Moves leased cursors to tick `to` and extends their lease, fenced: a cursor whose epoch or
 * owner changed (taken over after this relay's lease expired) is not touched, and neither is one
 * already at or past `to`. A partial window (see recordProgress) is done with. Returns the parts
 * advanced, each with the other relays alive (a relay that keeps its cursors learns of a new one
 * without a round trip).
 */
export function advanceCursors(
  schema: string,
  p: { subscriber: string; owner: string; leases: readonly CursorLease[]; to: string; until: Date },
): NamedQuery {
  return {
    name: `flowbus-advance-cursors:${schema}`,
    text: `UPDATE ${names(schema).cursor} c
      SET tick_id = $4::bigint, window_end = NULL, done_seq = NULL, lease_until = $5, updated_at = now()
      FROM unnest($2::smallint[], $3::bigint[]) AS f(part, epoch)
      WHERE c.subscriber = $1 AND c.part = f.part AND c.epoch = f.epoch AND c.owner = $6 AND c.tick_id < $4::bigint
      RETURNING c.part, ${othersAlive(schema, '$1', '$6')} AS others`,
    values: [p.subscriber, p.leases.map((l) => l.part), p.leases.map((l) => l.epoch), p.to, p.until, p.owner],
  };
}

/**
 * Records partial progress of a batch (see 0009-cursor-progress.migration): the rows of the window
 * from the cursors' tick `from` to tick `end` up to seq `done` are delivered. Fenced like
 * advanceCursors (and on the cursor still being at `from`), and extends the lease. Returns the
 * parts recorded, each with the other relays alive.
 */
export function recordProgress(
  schema: string,
  p: {
    subscriber: string;
    owner: string;
    leases: readonly CursorLease[];
    from: string;
    end: string;
    done: string;
    until: Date;
  },
): NamedQuery {
  return {
    name: `flowbus-cursor-progress:${schema}`,
    text: `UPDATE ${names(schema).cursor} c
      SET window_end = $5::bigint, done_seq = $6::bigint, lease_until = $7, updated_at = now()
      FROM unnest($2::smallint[], $3::bigint[]) AS f(part, epoch)
      WHERE c.subscriber = $1 AND c.part = f.part AND c.epoch = f.epoch AND c.owner = $8 AND c.tick_id = $4::bigint
      RETURNING c.part, ${othersAlive(schema, '$1', '$8')} AS others`,
    values: [
      p.subscriber,
      p.leases.map((l) => l.part),
      p.leases.map((l) => l.epoch),
      p.from,
      p.end,
      p.done,
      p.until,
      p.owner,
    ],
  };
}

/**
 * Extends the leases of cursors a relay is still delivering a batch of, fenced like
 * advanceCursors. Returns the parts renewed: fewer than asked means some were taken over.
 */
export function renewCursors(
  schema: string,
  p: { subscriber: string; owner: string; leases: readonly CursorLease[]; until: Date },
): NamedQuery {
  return {
    name: `flowbus-renew-cursors:${schema}`,
    text: `UPDATE ${names(schema).cursor} c SET lease_until = $4
      FROM unnest($2::smallint[], $3::bigint[]) AS f(part, epoch)
      WHERE c.subscriber = $1 AND c.part = f.part AND c.epoch = f.epoch AND c.owner = $5
      RETURNING c.part`,
    values: [p.subscriber, p.leases.map((l) => l.part), p.leases.map((l) => l.epoch), p.until, p.owner],
  };
}

/** Gives leased cursors back (shutdown), fenced like advanceCursors. */
export function releaseCursors(
  schema: string,
  p: { subscriber: string; owner: string; leases: readonly CursorLease[] },
): NamedQuery {
  return {
    name: `flowbus-release-cursors:${schema}`,
    text: `UPDATE ${names(schema).cursor} c SET owner = NULL, lease_until = NULL
      FROM unnest($2::smallint[], $3::bigint[]) AS f(part, epoch)
      WHERE c.subscriber = $1 AND c.part = f.part AND c.epoch = f.epoch AND c.owner = $4`,
    values: [p.subscriber, p.leases.map((l) => l.part), p.leases.map((l) => l.epoch), p.owner],
  };
}

/** Gives back every cursor `owner` holds (a relay shutting down). */
export function releaseOwnerCursors(schema: string, owner: string): NamedQuery {
  return {
    name: `flowbus-release-owner-cursors:${schema}`,
    text: `UPDATE ${names(schema).cursor} SET owner = NULL, lease_until = NULL WHERE owner = $1`,
    values: [owner],
  };
}

/**
 * Deletes the ticks nobody needs any more: older than every cursor's tick, and older than the
 * tick the newest tick's floor came from (a later tick's floor may still be looked up there). A
 * partial window's end tick is newer than its cursor's tick, so it is kept.
 */
export function pruneTicks(schema: string): NamedQuery {
  const { tick, cursor } = names(schema);
  return {
    name: `flowbus-prune-ticks:${schema}`,
    text: `DELETE FROM ${tick} WHERE id < LEAST(
        COALESCE((SELECT min(tick_id) FROM ${cursor}), (SELECT max(id) FROM ${tick})),
        COALESCE((SELECT t.id FROM ${tick} t
          WHERE t.marker < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY t.marker DESC, t.id DESC LIMIT 1), 0))`,
    values: [],
  };
}

/**
 * Lag of every subscriber in ticks' seq terms (rows ahead of its oldest cursor, or of the seq its
 * partial window is done up to; upper bound) and seconds, and whether it holds back retention: a generation closed at least `retentionMs` before
 * `now` is not emptied yet because this subscriber has not read all of it (see flowbus_log_rotate).
 */
export function subscriberLag(schema: string, now: Date, retentionMs: number): NamedQuery {
  const { log, tick, cursor, gen } = names(schema);
  return {
    name: `flowbus-subscriber-lag:${schema}`,
    text: `WITH due AS (
        SELECT g.gen, (SELECT max(l.seq) FROM ${log} l WHERE l.gen = g.gen) AS max_seq FROM ${gen} g
        WHERE g.closed_at IS NOT NULL AND g.truncated_at IS NULL
          AND g.closed_at <= $1::timestamptz - $2::float8 * interval '1 millisecond'
      ), at AS (
        SELECT DISTINCT c.subscriber, c.tick_id FROM ${cursor} c
      ), blocking AS (
        SELECT DISTINCT at.subscriber FROM at JOIN ${tick} t ON t.id = at.tick_id, due d
        WHERE NOT ${quoteSchema(schema)}.flowbus_log_gen_read(d.gen, d.max_seq, t.floor_seq, t.snap)
      )
      SELECT c.subscriber, min(c.tick_id)::text AS "tickId",
        GREATEST(0, (SELECT max(hi_seq) FROM ${tick}) - min(GREATEST(t.hi_seq, COALESCE(c.done_seq, 0))))::text
          AS "behindSeq",
        EXTRACT(EPOCH FROM (now() - min(t.created_at)))::float8 AS "lagSeconds",
        c.subscriber IN (SELECT subscriber FROM blocking) AS "blocksRetention"
      FROM ${cursor} c JOIN ${tick} t ON t.id = c.tick_id
      GROUP BY c.subscriber ORDER BY c.subscriber`,
    values: [now, retentionMs],
  };
}

/**
 * The deliveries of the log storage in the shape of a `flowbus_outbox` row, as an SQL FROM-item
 * (aliased `o`) for the admin API and the stats: each log row once per reader (every durable
 * subscriber of its type in `flowbus_subscriber`, as destination `local`; every destination
 * `routes` send its type to; or its own destination). A delivery that failed or was parked has
 * its row in `flowbus_outbox` (retries), which gives its fields; a dead-lettered one is left out
 * (it is in `flowbus_dead_letter`). Otherwise it is delivered once its reader's cursor is past it,
 * or once it is in the cursor's partial window at or below its done seq (`delivered_at` is then
 * when that cursor last moved: the log does not record each delivery), else pending. `seq` is the log's. With `orphans`, the retry rows whose log row is gone
 * (retention, or written before the switch to the log) are added, with their own seq: for counts
 * only, their seq is of another sequence.
 *
 * `param` adds a value and returns its `$n`.
 */
export function logDeliveries(
  schema: string,
  param: (value: unknown) => string,
  routes: readonly { eventType: string; destination: string }[],
  orphans = false,
): string {
  const { log, tick, cursor } = names(schema);
  const outbox = table(schema, 'flowbus_outbox');
  const types = param(routes.map((r) => r.eventType));
  const destinations = param(routes.map((r) => r.destination));
  const rest = orphans
    ? `UNION ALL
      SELECT id, seq, destination, subscriber, type, key, payload, headers, attempts, errors, last_error, created_at,
        next_attempt_at, locked_until, lock_owner, delivered_at
      FROM ${outbox} r WHERE NOT EXISTS (SELECT 1 FROM ${log} l WHERE l.id = r.id)`
    : '';
  return `(
      SELECT l.id, l.seq, x.destination, x.subscriber, l.type, l.key, l.payload, l.headers,
        COALESCE(r.attempts, 0) AS attempts, COALESCE(r.errors, '[]'::jsonb) AS errors, r.last_error, l.created_at,
        COALESCE(r.next_attempt_at, l.available_at, l.created_at) AS next_attempt_at, r.locked_until, r.lock_owner,
        CASE WHEN r.id IS NOT NULL THEN r.delivered_at
          WHEN l.seq <= t.floor_seq OR pg_visible_in_snapshot(l.txid, t.snap)
            OR (l.seq <= c.done_seq AND pg_visible_in_snapshot(l.txid, w.snap)) THEN c.updated_at END AS delivered_at
      FROM ${log} l
      CROSS JOIN LATERAL (
        SELECT 'local' AS destination, s.subscriber, 'local:' || s.subscriber AS reader
          FROM ${table(schema, 'flowbus_subscriber')} s WHERE l.destination IS NULL AND s.event_type = l.type
        UNION ALL
        SELECT rt.destination, '', 'destination:' || rt.destination FROM unnest(${types}::text[], ${destinations}::text[]) rt(type, destination)
          WHERE l.destination IS NULL AND rt.type = l.type
        UNION ALL
        SELECT l.destination, '', 'destination:' || l.destination WHERE l.destination IS NOT NULL
      ) x
      LEFT JOIN ${cursor} c ON c.subscriber = x.reader AND c.part = l.part
      LEFT JOIN ${tick} t ON t.id = c.tick_id
      LEFT JOIN ${tick} w ON w.id = c.window_end
      LEFT JOIN ${outbox} r ON r.id = l.id AND r.subscriber = x.subscriber
      WHERE NOT EXISTS (SELECT 1 FROM ${table(schema, 'flowbus_dead_letter')} d
        WHERE d.id = l.id AND d.subscriber = x.subscriber)
      ${rest}) o`;
}

/** A delivery read from the log that goes to `flowbus_outbox` for its retries (or was parked there). */
export interface RetryInsertRow extends Omit<ClaimedRow, 'created_at' | 'refused'> {
  /** JSON array text of the error history. */
  errors: string;
  lastError: string | null;
  createdAt: Date;
  nextAttemptAt: Date;
}

/**
 * Moves failed (or parked) deliveries into `flowbus_outbox`, where the claim loop retries them
 * with backoff, in order (seq) per key. A row already there (a delivery repeated after a lease
 * takeover) is left alone.
 */
export function insertRetries(schema: string, rows: readonly RetryInsertRow[]): NamedQuery {
  return insertDeliveries(schema, 'flowbus_outbox', 'next_attempt_at', rows);
}

/** Dead-letters deliveries that failed for good on their first attempt (NonRetryableError, maxAttempts 1). */
export function insertDeadLetters(schema: string, rows: readonly RetryInsertRow[]): NamedQuery {
  return insertDeliveries(schema, 'flowbus_dead_letter', 'failed_at', rows);
}

function insertDeliveries(
  schema: string,
  into: 'flowbus_outbox' | 'flowbus_dead_letter',
  due: 'next_attempt_at' | 'failed_at',
  rows: readonly RetryInsertRow[],
): NamedQuery {
  const ids = rows.map((r) => r.id);
  return {
    name: `flowbus-log-into-${into}:${schema}`,
    text: `INSERT INTO ${table(schema, into)}
        (id, destination, subscriber, type, key, payload, headers, attempts, errors, last_error, created_at, ${due})
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[],
        $8::int[], $9::jsonb[], $10::text[], $11::timestamptz[], $12::timestamptz[])
      ON CONFLICT (id, subscriber) DO NOTHING`,
    values: [
      ids,
      rows.map((r) => r.destination),
      rows.map((r) => r.subscriber),
      rows.map((r) => r.type),
      rows.map((r) => r.key),
      rows.map((r) => JSON.stringify(r.payload)),
      rows.map((r) => JSON.stringify(r.headers)),
      rows.map((r) => r.attempts),
      rows.map((r) => r.errors),
      rows.map((r) => r.lastError),
      rows.map((r) => r.createdAt),
      rows.map((r) => r.nextAttemptAt),
    ],
  };
}

/**
 * The keys among `keys` that have an undelivered row of this subscriber in `flowbus_outbox` (a
 * head that failed, or rows parked behind it): later rows of those keys are parked behind them.
 */
export function parkedKeys(
  schema: string,
  destination: string,
  subscriber: string,
  keys: readonly string[],
): NamedQuery {
  return {
    name: `flowbus-log-parked-keys:${schema}`,
    text: `SELECT DISTINCT key FROM ${table(schema, 'flowbus_outbox')}
      WHERE destination = $1 AND subscriber = $2 AND key = ANY($3::text[]) AND delivered_at IS NULL`,
    values: [destination, subscriber, keys],
  };
}

/**
 * One retention step of the log (see flowbus_log_rotate in 0007-log-generations.migration): empties
 * with TRUNCATE the closed generations every cursor has consumed, closed at least `retentionMs`
 * ago, and switches to the next generation when the current one is `rotateMs` old. Returns the
 * generations emptied and the one switched to (null: no switch).
 */
export function rotateLog(schema: string, p: { now: Date; retentionMs: number; rotateMs: number }): NamedQuery {
  return {
    name: `flowbus-log-rotate:${schema}`,
    text: `SELECT truncated, switched_to AS "switchedTo" FROM ${quoteSchema(schema)}.flowbus_log_rotate(
        $1::timestamptz, $2::float8 * interval '1 millisecond', $3::float8 * interval '1 millisecond')`,
    values: [p.now, p.retentionMs, p.rotateMs],
  };
}

/** What retireSubscriber found and did. */
export interface RetireResult {
  /** Cursors the subscriber had (0: no such subscriber). */
  cursors: number;
  /** Relays that still read it: alive and announcing it, or alive and holding a lease on one of its cursors. */
  readers: string[];
  /** Cursors deleted (0 when refused). */
  retired: number;
  /** Rows deleted from `flowbus_subscriber`. */
  directoryRows: number;
}

/**
 * Retires a subscriber (the admin API), in ONE statement, so in one transaction: deletes its
 * cursors and, for a durable local subscriber (`directoryName`, its name without `local:`), its
 * rows in `flowbus_subscriber`, unless a live relay still reads it. A relay reads it when it is
 * alive and announces it in `flowbus_relay`, or announced it once and is alive for another
 * subscriber (it stops announcing a subscriber whose breaker is open, but still reads it when the
 * breaker closes), or holds an unexpired lease on one of its cursors (a relay between its start
 * and its first heartbeat). The cursors are locked first: a relay leasing them meanwhile skips
 * them (SKIP LOCKED), one advancing them waits and then finds them gone. Its retries and dead
 * letters stay. Needs DELETE on flowbus_cursor and flowbus_subscriber (not checked at start).
 */
export function retireSubscriber(
  schema: string,
  p: { cursor: string; directoryName: string | null; now: Date },
): Query {
  const { cursor, relay } = names(schema);
  return {
    text: `WITH found AS (
        SELECT part, owner, lease_until FROM ${cursor} WHERE subscriber = $1 FOR UPDATE
      ), readers AS (
        SELECT DISTINCT r.owner FROM ${relay} r
        WHERE r.subscriber = $1 AND EXISTS (SELECT 1 FROM ${relay} a WHERE a.owner = r.owner AND a.alive_until > now())
        UNION
        SELECT owner FROM found WHERE owner IS NOT NULL AND lease_until > $3
      ), retired AS (
        DELETE FROM ${cursor} c WHERE c.subscriber = $1 AND NOT EXISTS (SELECT 1 FROM readers)
        RETURNING c.part
      ), directory AS (
        DELETE FROM ${table(schema, 'flowbus_subscriber')} s
        WHERE s.subscriber = $2::text AND EXISTS (SELECT 1 FROM retired)
        RETURNING s.event_type
      )
      SELECT (SELECT count(*) FROM found)::int AS cursors,
        ARRAY(SELECT owner FROM readers ORDER BY owner) AS readers,
        (SELECT count(*) FROM retired)::int AS retired,
        (SELECT count(*) FROM directory)::int AS "directoryRows"`,
    values: [p.cursor, p.directoryName, p.now],
  };
}

import { createHash } from 'node:crypto';
import { escapeLiteral } from 'pg';
import { table } from '../database/sql-identifiers.js';
import { splitDeliveryKeys } from './delivery-key.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { NamedQuery } from './log.queries.js';

/** A parameterised statement. */
export interface Query {
  readonly text: string;
  readonly values: unknown[];
}

/** A row ready to insert into the outbox. */
export interface OutboxInsertRow {
  id: string;
  destination: string;
  subscriber: string;
  type: string;
  key: string | null;
  payload: string;
  headers: string;
  availableAt: Date | null;
}

/** Columns the relay reads back from a claim. */
export interface ClaimedRow {
  id: string;
  destination: string;
  subscriber: string;
  type: string;
  key: string | null;
  payload: unknown;
  headers: Record<string, string>;
  attempts: number;
  created_at: Date;
  /**
   * Never tried, given back by a circuit breaker (the log storage writes the breaker's error as its
   * `last_error`): a first attempt like the log's, unlike a row parked behind its key's head.
   */
  refused: boolean;
}

/** Keeps the rows of an insert that a condition on the row `v` holds for (see guardedWrite). */
export interface RowFilter {
  readonly condition: string;
}

/**
 * `write` (an insert of outbox or log rows, no NOTIFY) run with `guard` in ONE statement: `guard`
 * is a data-modifying statement returning `id`s, run as the CTE `guard`; `onlyGuarded(header)`
 * gives the filter that keeps the rows whose header is among them. Returns the guard's ids. One
 * round trip, and in autocommit one transaction: both writes commit together or not at all.
 */
export function guardedWrite(guard: Query, write: NamedQuery, notifyChannel?: string): NamedQuery {
  const offset = guard.values.length;
  const shifted = write.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  const values = [...guard.values, ...write.values];
  let select = 'SELECT id FROM guard';
  if (notifyChannel !== undefined) {
    values.push(notifyChannel);
    select = `SELECT id FROM guard, (SELECT pg_notify($${values.length}, '')) notified`;
  }
  const text = `WITH guard AS (${guard.text}),\nwritten AS (${shifted})\n${select}`;
  // Named by its text: the schema, storage and options it was built for make many texts, and
  // PostgreSQL cuts names at 63 bytes.
  return { name: `flowbus-guarded:${createHash('sha1').update(text).digest('base64url')}`, text, values };
}

/** The RowFilter of guardedWrite: rows whose header `header` is an id the guard returned. */
export function onlyGuarded(header: string): RowFilter {
  return { condition: `v.headers ->> ${escapeLiteral(header)} IN (SELECT id FROM guard)` };
}

/**
 * One INSERT of any number of rows, in a statement of a fixed text (arrays, not a VALUES list per
 * row count): named, so node-postgres prepares it once per connection instead of PostgreSQL parsing
 * and planning eight parameters a row on every write. Due times come from the app's clock, as do
 * the relay's "now": comparing a database timestamp with an app timestamp would make every row
 * wait out the clock skew. With `notifyChannel`, the same statement also queues a NOTIFY (sent by
 * PostgreSQL at commit), saving the producer a round trip. `only` (an SQL condition on the row
 * `v`) keeps the rows it holds for; the rows' order is kept (seq order for per-key FIFO).
 */
export function insertMessages(
  schema: string,
  rows: readonly OutboxInsertRow[],
  now: Date,
  notifyChannel?: string,
  only?: RowFilter,
): NamedQuery {
  const columns: unknown[][] = [[], [], [], [], [], [], [], []];
  for (const r of rows) {
    columns[0]!.push(r.id);
    columns[1]!.push(r.destination);
    columns[2]!.push(r.subscriber);
    columns[3]!.push(r.type);
    columns[4]!.push(r.key);
    columns[5]!.push(r.payload);
    columns[6]!.push(r.headers);
    columns[7]!.push(r.availableAt ?? now);
  }
  const values: unknown[] = columns;
  let text = `INSERT INTO ${table(schema, 'flowbus_outbox')}
      (id, destination, subscriber, type, key, payload, headers, next_attempt_at)
      SELECT v.id, v.destination, v.subscriber, v.type, v.key, v.payload, v.headers, v.next_attempt_at
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::timestamptz[])
        AS v(id, destination, subscriber, type, key, payload, headers, next_attempt_at)${only ? `\n      WHERE ${only.condition}` : ''}`;
  if (notifyChannel !== undefined) {
    values.push(notifyChannel);
    // A data-modifying CTE runs to completion even though the outer SELECT does not read it.
    text = `WITH inserted AS (${text}) SELECT pg_notify($9, '')`;
  }
  return {
    name: `flowbus-insert:${schema}:${notifyChannel === undefined ? '' : 'n'}${only ? ':only' : ''}`,
    text,
    values,
  };
}

export function notify(channel: string): Query {
  return { text: 'SELECT pg_notify($1, $2)', values: [channel, ''] };
}

/**
 * `claim` with the planner kept on the due index, walked in order, as one simple-protocol message:
 * `SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; <claim>`. PostgreSQL runs the
 * statements of one message as one implicit transaction, so the settings end with it.
 *
 * Why: the claim's row estimate comes from statistics that are wrong exactly when it matters (a
 * table never analysed, or analysed while everything was delivered and then hit by a burst).
 * Believing the due set tiny, PostgreSQL picks a bitmap scan that sorts every due row on every
 * claim: ~150–300 ms per 100-row claim with a 100k–180k backlog instead of ~1 ms. The relay uses
 * this form only while `explainClaim` shows that plan.
 *
 * A message of several statements cannot carry parameters, so the claim's values are inlined as
 * literals, escaped by node-postgres; it saves the two round trips of an explicit transaction.
 */
export function pinnedClaim(claim: Query): Query {
  const text = claim.text.replace(/\$(\d+)/g, (_, n: string) => literal(claim.values[Number(n) - 1]));
  return { text: `SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; ${text}`, values: [] };
}

/** A value of claimDue as an SQL literal (the statement casts it where the type matters). */
function literal(value: unknown): string {
  if (value instanceof Date) return escapeLiteral(value.toISOString());
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string') return escapeLiteral(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return value.length === 0 ? "'{}'" : `ARRAY[${value.map((v: string) => escapeLiteral(v)).join(', ')}]`;
  }
  throw new TypeError(`cannot inline ${typeof value} into a claim`);
}

/** The plan PostgreSQL would use for `claim` now (planned, not run). */
export function explainClaim(claim: Query): Query {
  return { text: `EXPLAIN (FORMAT JSON) ${claim.text}`, values: claim.values };
}

/**
 * Claims up to `limit` due rows and leases them to `owner` until `leaseUntil`. The lease is
 * written into next_attempt_at too, so leased rows drop out of the due-index scan and an expired
 * lease makes the row due again without another condition. A keyed row waits while an older row
 * of the same destination, subscriber and key is undelivered (per-key FIFO). Only `destinations`
 * are claimed: the ones this relay knows, less those whose breaker is open (no attempt is burnt).
 * Of the `local` rows, only those of a (type, subscriber) in `local` are claimed: a row for a
 * subscriber this app does not have (another app's, or one renamed in a newer version) stays
 * pending for an app that has it, without burning attempts.
 *
 * `probe` (a half-open breaker's one delivery) prefers rows that never failed: a row that failed
 * before may fail for its own reasons (its data), and a probe that fails keeps the breaker open
 * for every other row.
 */
export function claimDue(
  schema: string,
  p: {
    now: Date;
    leaseUntil: Date;
    owner: string;
    limit: number;
    destinations: string[];
    local: { types: string[]; names: string[] };
    probe?: boolean;
  },
): Query {
  const outbox = table(schema, 'flowbus_outbox');
  return {
    text: `
      WITH due AS (
        SELECT o.id, o.subscriber FROM ${outbox} o
        WHERE o.delivered_at IS NULL
          AND o.next_attempt_at <= $1
          AND o.destination = ANY($5::text[])
          AND (o.destination <> $6 OR (o.type, o.subscriber) IN (SELECT * FROM unnest($7::text[], $8::text[])))
          AND (o.key IS NULL OR NOT EXISTS (
            SELECT 1 FROM ${outbox} p
            WHERE p.destination = o.destination AND p.subscriber = o.subscriber AND p.key = o.key
              AND p.delivered_at IS NULL AND p.seq < o.seq))
        ORDER BY ${p.probe ? 'o.attempts, ' : ''}o.next_attempt_at, o.seq
        LIMIT $4
        FOR UPDATE SKIP LOCKED
      )
      UPDATE ${outbox} o
      SET locked_until = $2, next_attempt_at = $2, lock_owner = $3
      FROM due WHERE o.id = due.id AND o.subscriber = due.subscriber
      RETURNING o.id, o.destination, o.subscriber, o.type, o.key, o.payload, o.headers, o.attempts, o.created_at,
        (o.attempts = 0 AND o.last_error IS NOT NULL) AS refused`,
    values: [p.now, p.leaseUntil, p.owner, p.limit, p.destinations, LOCAL_DESTINATION, p.local.types, p.local.names],
  };
}

/**
 * The rows of delivery keys ($1 ids, $4 subscribers; see deliveryKey): the id narrows to the
 * primary key's leading column, the pair picks the subscriber's row (log storage: one message
 * id, a row per subscriber that failed it).
 */
const ROWS_OF_KEYS = `id = ANY($1::uuid[]) AND (id, subscriber) IN (SELECT * FROM unnest($1::uuid[], $4::text[]))`;

/** Marks delivered the rows this owner still holds; a row whose lease was lost is not touched. */
export function markDelivered(schema: string, keys: readonly string[], owner: string, now: Date): Query {
  const { ids, subscribers } = splitDeliveryKeys(keys);
  return {
    text: `UPDATE ${table(schema, 'flowbus_outbox')}
      SET delivered_at = $3, locked_until = NULL, lock_owner = NULL
      WHERE ${ROWS_OF_KEYS} AND lock_owner = $2 AND delivered_at IS NULL`,
    values: [ids, owner, now, subscribers],
  };
}

/** Records a failed attempt and when to try again. */
export function markFailed(
  schema: string,
  p: { id: string; subscriber: string; owner: string; error: string; entry: string; nextAttemptAt: Date },
): Query {
  return {
    text: `UPDATE ${table(schema, 'flowbus_outbox')}
      SET attempts = attempts + 1, last_error = $3, errors = errors || $4::jsonb,
          next_attempt_at = $5, locked_until = NULL, lock_owner = NULL
      WHERE id = $1 AND subscriber = $6 AND lock_owner = $2 AND delivered_at IS NULL`,
    values: [p.id, p.owner, p.error, p.entry, p.nextAttemptAt, p.subscriber],
  };
}

/** Moves a row to the dead letters with its whole error history, in one statement. */
export function moveToDeadLetter(
  schema: string,
  p: { id: string; subscriber: string; owner: string; error: string; entry: string; now: Date },
): Query {
  return {
    text: `
      WITH moved AS (
        DELETE FROM ${table(schema, 'flowbus_outbox')}
        WHERE id = $1 AND subscriber = $6 AND lock_owner = $2 AND delivered_at IS NULL
        RETURNING *
      )
      INSERT INTO ${table(schema, 'flowbus_dead_letter')}
        (id, destination, subscriber, type, key, payload, headers, attempts, errors, last_error, created_at, failed_at)
      SELECT id, destination, subscriber, type, key, payload, headers, attempts + 1, errors || $4::jsonb, $3, created_at, $5
      FROM moved`,
    values: [p.id, p.owner, p.error, p.entry, p.now, p.subscriber],
  };
}

/** Gives rows back without counting an attempt (shutdown, open breaker). */
export function release(schema: string, keys: readonly string[], owner: string, at: Date): Query {
  const { ids, subscribers } = splitDeliveryKeys(keys);
  return {
    text: `UPDATE ${table(schema, 'flowbus_outbox')}
      SET locked_until = NULL, lock_owner = NULL, next_attempt_at = $3
      WHERE ${ROWS_OF_KEYS} AND lock_owner = $2 AND delivered_at IS NULL`,
    values: [ids, owner, at, subscribers],
  };
}

/** Deletes up to `limit` rows delivered before `before`. */
export function deleteDelivered(schema: string, before: Date, limit: number): Query {
  const outbox = table(schema, 'flowbus_outbox');
  return {
    text: `DELETE FROM ${outbox} WHERE id IN (
      SELECT id FROM ${outbox} WHERE delivered_at IS NOT NULL AND delivered_at < $1 LIMIT $2)`,
    values: [before, limit],
  };
}

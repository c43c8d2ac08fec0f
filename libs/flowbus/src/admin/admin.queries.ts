import { table } from '../database/sql-identifiers.js';
import { logDeliveries } from '../outbox/log.queries.js';
import type { Query } from '../outbox/outbox.queries.js';

/** Log storage: the routes, to read the deliveries of the log (see logDeliveries); table storage: undefined. */
export type LogRoutes = readonly { eventType: string; destination: string }[] | undefined;

/** The outbox as the admin API reads it, aliased `o`: the table, or the log's deliveries. */
function outboxSource(schema: string, param: (value: unknown) => string, log: LogRoutes, orphans = false): string {
  return log ? logDeliveries(schema, param, log, orphans) : `${table(schema, 'flowbus_outbox')} o`;
}

/**
 * SQL of the admin API. Every value is a `$n` parameter; the only interpolated identifiers are
 * the validated, quoted table names. Lists page by keyset on `seq` (newest first): a row inserted
 * while an operator pages has a higher `seq` and never shifts the pages after the first.
 *
 * "now" is the app's clock, as for the relay: leases and due times are written from it.
 */

/** Outbox status as the admin API shows it; derived, not stored. */
export const OUTBOX_STATUSES = ['pending', 'in-flight', 'delivered'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export const SAGA_STATUSES = ['running', 'completed', 'compensating', 'compensated', 'failed'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

/** Rows per bulk requeue statement. */
export const BULK_REQUEUE_MAX = 500;

interface Page {
  limit: number;
  /** Keyset: only rows with a lower seq (older). */
  before?: string;
}

const OUTBOX_STATUS_SQL = (now: string) => `CASE
  WHEN delivered_at IS NOT NULL THEN 'delivered'
  WHEN locked_until > ${now} THEN 'in-flight'
  ELSE 'pending' END`;

const CAUSE_COLUMNS = `headers->>'correlation-id' AS "correlationId", headers->>'causation-id' AS "causationId"`;

const outboxColumns = (now: string) => `id, seq, destination, subscriber, type, key, payload, headers, ${CAUSE_COLUMNS},
  ${OUTBOX_STATUS_SQL(now)} AS status, attempts, last_error AS "lastError",
  created_at AS "createdAt", next_attempt_at AS "nextAttemptAt", locked_until AS "lockedUntil",
  lock_owner AS "lockOwner", delivered_at AS "deliveredAt"`;

const DEAD_LETTER_COLUMNS = `id, seq, destination, subscriber, type, key, payload, headers, ${CAUSE_COLUMNS}, attempts,
  last_error AS "lastError", created_at AS "createdAt", failed_at AS "failedAt"`;

const SAGA_COLUMNS = `id, seq, saga_name AS name, correlation_id AS "correlationId", status, version, state,
  reason, created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

/** Collects `$n` conditions; returns the WHERE clause. */
class Conditions {
  readonly values: unknown[] = [];
  private readonly parts: string[] = [];

  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  add(sql: string): void {
    this.parts.push(sql);
  }

  where(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

type OutboxFilter = Page & { now: Date; status?: OutboxStatus; destination?: string; type?: string };

/** The conditions of an outbox list on the columns of a `flowbus_outbox` row (`now`: its `$n`). */
function outboxFilter(c: Conditions, p: OutboxFilter, now: string): void {
  if (p.status === 'delivered') c.add('delivered_at IS NOT NULL');
  if (p.status === 'in-flight') c.add(`delivered_at IS NULL AND locked_until > ${now}`);
  if (p.status === 'pending') c.add(`delivered_at IS NULL AND (locked_until IS NULL OR locked_until <= ${now})`);
  if (p.destination !== undefined) c.add(`destination = ${c.param(p.destination)}`);
  if (p.type !== undefined) c.add(`type = ${c.param(p.type)}`);
  if (p.before !== undefined) c.add(`seq < ${c.param(p.before)}::bigint`);
}

export function listOutbox(schema: string, p: OutboxFilter & { log?: LogRoutes }): Query {
  const c = new Conditions();
  const now = c.param(p.now);
  const source = outboxSource(schema, (v) => c.param(v), p.log);
  outboxFilter(c, p, now);
  const limit = c.param(p.limit + 1);
  return {
    // A log row is one item per reader: subscriber orders them within a seq (see the admin service's page).
    text: `SELECT ${outboxColumns(now)} FROM ${source} ${c.where()} ORDER BY seq DESC${p.log ? ', subscriber, destination' : ''} LIMIT ${limit}`,
    values: c.values,
  };
}

/**
 * Log storage: the retry rows of `flowbus_outbox` that the log's deliveries (logDeliveries) do not
 * show: their log row is gone (emptied by retention, or written by the table storage before the
 * switch to the log), or they are a `local` subscriber's that was retired (no longer in
 * `flowbus_subscriber`, so no longer among the log row's readers). Newest first by their own seq,
 * with the filters of listOutbox. `GET /outbox` lists them after the log's rows: most are older
 * than every row the log still holds. The anti-join reads the log's ids once (the log has no index
 * on id; the relay never needs one), as logDeliveries' `orphans` does for the stats.
 */
export function listOutboxRetries(schema: string, p: OutboxFilter): Query {
  const c = new Conditions();
  const now = c.param(p.now);
  c.add(`(NOT EXISTS (SELECT 1 FROM ${table(schema, 'flowbus_log')} l WHERE l.id = o.id)
    OR (o.destination = 'local' AND NOT EXISTS (SELECT 1 FROM ${table(schema, 'flowbus_subscriber')} s
      WHERE s.event_type = o.type AND s.subscriber = o.subscriber)))`);
  outboxFilter(c, p, now);
  const limit = c.param(p.limit + 1);
  return {
    text: `SELECT ${outboxColumns(now)} FROM ${table(schema, 'flowbus_outbox')} o ${c.where()} ORDER BY seq DESC LIMIT ${limit}`,
    values: c.values,
  };
}

/**
 * Log storage: a retry row of `flowbus_outbox` by id, read directly (getOutbox's fallback for one
 * the log's deliveries do not show: a retired subscriber's, see listOutboxRetries).
 */
export function getOutboxRetry(schema: string, id: string, now: Date): Query {
  return {
    text: `SELECT ${outboxColumns('$2')}, errors FROM ${table(schema, 'flowbus_outbox')} WHERE id = $1::uuid
      ORDER BY delivered_at IS NOT NULL, subscriber, destination LIMIT 1`,
    values: [id, now],
  };
}

/**
 * One message. With the log, a message read by several subscribers is one delivery each: the
 * first undelivered one is shown (then by subscriber name); a retry row whose log row is gone too.
 */
export function getOutbox(schema: string, id: string, now: Date, log?: LogRoutes): Query {
  const values: unknown[] = [id, now];
  const source = outboxSource(schema, (v) => `$${values.push(v)}`, log, true);
  return {
    text: `SELECT ${outboxColumns('$2')}, errors FROM ${source} WHERE id = $1::uuid
      ORDER BY delivered_at IS NOT NULL, subscriber, destination LIMIT 1`,
    values,
  };
}

/**
 * Makes a pending row due now. A delivered row cannot be retried, and neither can a leased one:
 * making it due would let another relay claim it while the first is still delivering. An
 * already-due row keeps its earlier due time, and so its place in the queue.
 */
export function retryOutbox(schema: string, id: string, now: Date): Query {
  return {
    text: `UPDATE ${table(schema, 'flowbus_outbox')}
      SET next_attempt_at = LEAST(next_attempt_at, $2)
      WHERE id = $1::uuid AND delivered_at IS NULL AND (locked_until IS NULL OR locked_until <= $2)
      RETURNING ${outboxColumns('$2')}, errors`,
    values: [id, now],
  };
}

export function listDeadLetters(schema: string, p: Page & { destination?: string; type?: string }): Query {
  const c = new Conditions();
  if (p.destination !== undefined) c.add(`destination = ${c.param(p.destination)}`);
  if (p.type !== undefined) c.add(`type = ${c.param(p.type)}`);
  if (p.before !== undefined) c.add(`seq < ${c.param(p.before)}::bigint`);
  const limit = c.param(p.limit + 1);
  return {
    text: `SELECT ${DEAD_LETTER_COLUMNS} FROM ${table(schema, 'flowbus_dead_letter')} ${c.where()} ORDER BY seq DESC LIMIT ${limit}`,
    values: c.values,
  };
}

export function getDeadLetter(schema: string, id: string): Query {
  return {
    // Log storage: one message may be dead-lettered for several subscribers; the oldest is shown.
    text: `SELECT ${DEAD_LETTER_COLUMNS}, errors FROM ${table(schema, 'flowbus_dead_letter')} WHERE id = $1::uuid
      ORDER BY seq LIMIT 1`,
    values: [id],
  };
}

/** Which of `ids` are in the outbox now: tells "already requeued" (409) from "unknown" (404). */
export function outboxIdsAmong(schema: string, ids: string[]): Query {
  return { text: `SELECT id FROM ${table(schema, 'flowbus_outbox')} WHERE id = ANY($1::uuid[])`, values: [ids] };
}

/**
 * Moves dead letters back to the outbox in ONE statement: the DELETE locks each row, so of two
 * concurrent requeues of one row only one moves it; the other's DELETE finds nothing once the
 * first commits. The message keeps its id (consumers deduplicate on it) and its creation time;
 * attempts restart at 0, the error history is kept with a "Requeued" entry marking the restart.
 * A row whose id is in the outbox already is left alone (the INSERT would violate the key).
 *
 * `ids` requeues those rows; otherwise up to `limit` rows matching the filter, oldest first,
 * skipping rows another requeue is moving.
 */
export function requeueDeadLetters(
  schema: string,
  p: { now: Date; ids?: string[]; destination?: string; type?: string; limit: number },
): Query {
  const deadLetters = table(schema, 'flowbus_dead_letter');
  const outbox = table(schema, 'flowbus_outbox');
  const c = new Conditions();
  const now = c.param(p.now);
  const at = c.param(p.now.toISOString());
  const limit = c.param(p.limit);
  c.add(`NOT EXISTS (SELECT 1 FROM ${outbox} o WHERE o.id = d.id AND o.subscriber = d.subscriber)`);
  if (p.ids !== undefined) c.add(`d.id = ANY(${c.param(p.ids)}::uuid[])`);
  if (p.destination !== undefined) c.add(`d.destination = ${c.param(p.destination)}`);
  if (p.type !== undefined) c.add(`d.type = ${c.param(p.type)}`);
  return {
    text: `
      WITH picked AS (
        SELECT d.id, d.subscriber FROM ${deadLetters} d ${c.where()}
        ORDER BY d.seq LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      ), moved AS (
        DELETE FROM ${deadLetters} d USING picked WHERE d.id = picked.id AND d.subscriber = picked.subscriber
        RETURNING d.*
      )
      INSERT INTO ${outbox}
        (id, destination, subscriber, type, key, payload, headers, attempts, errors, last_error, created_at, next_attempt_at)
      SELECT id, destination, subscriber, type, key, payload, headers, 0,
        errors || jsonb_build_array(jsonb_build_object(
          'attempt', 0, 'at', ${at}::text, 'name', 'Requeued',
          'message', 'Requeued from the dead letters by the admin API after ' || attempts || ' attempt(s)')),
        last_error, created_at, ${now}
      FROM moved
      RETURNING id`,
    values: c.values,
  };
}

/**
 * One dead letter back to the outbox. Unlike the bulk form it waits for a concurrent requeue of
 * the same row (no SKIP LOCKED), so the loser sees the row gone and answers 409, not 404.
 */
export function requeueDeadLetter(schema: string, id: string, now: Date): Query {
  const deadLetters = table(schema, 'flowbus_dead_letter');
  const outbox = table(schema, 'flowbus_outbox');
  return {
    text: `
      WITH moved AS (
        DELETE FROM ${deadLetters} d
        WHERE d.id = $1::uuid AND NOT EXISTS (SELECT 1 FROM ${outbox} o WHERE o.id = d.id AND o.subscriber = d.subscriber)
        RETURNING d.*
      )
      INSERT INTO ${outbox}
        (id, destination, subscriber, type, key, payload, headers, attempts, errors, last_error, created_at, next_attempt_at)
      SELECT id, destination, subscriber, type, key, payload, headers, 0,
        errors || jsonb_build_array(jsonb_build_object(
          'attempt', 0, 'at', $3::text, 'name', 'Requeued',
          'message', 'Requeued from the dead letters by the admin API after ' || attempts || ' attempt(s)')),
        last_error, created_at, $2
      FROM moved
      RETURNING id`,
    values: [id, now, now.toISOString()],
  };
}

/** Whether any dead letter still matches a bulk requeue filter (more calls are needed). */
export function deadLettersMatch(schema: string, p: { destination?: string; type?: string }): Query {
  const c = new Conditions();
  if (p.destination !== undefined) c.add(`destination = ${c.param(p.destination)}`);
  if (p.type !== undefined) c.add(`type = ${c.param(p.type)}`);
  return {
    text: `SELECT EXISTS (SELECT 1 FROM ${table(schema, 'flowbus_dead_letter')} ${c.where()}) AS more`,
    values: c.values,
  };
}

export function deleteDeadLetter(schema: string, id: string): Query {
  return { text: `DELETE FROM ${table(schema, 'flowbus_dead_letter')} WHERE id = $1::uuid RETURNING id`, values: [id] };
}

export function listSagas(schema: string, p: Page & { name?: string; status?: SagaStatus }): Query {
  const c = new Conditions();
  if (p.name !== undefined) c.add(`saga_name = ${c.param(p.name)}`);
  if (p.status !== undefined) c.add(`status = ${c.param(p.status)}`);
  if (p.before !== undefined) c.add(`seq < ${c.param(p.before)}::bigint`);
  const limit = c.param(p.limit + 1);
  return {
    text: `SELECT ${SAGA_COLUMNS} FROM ${table(schema, 'flowbus_saga')} ${c.where()} ORDER BY seq DESC LIMIT ${limit}`,
    values: c.values,
  };
}

/** One saga instance with its compensations and its pending timeouts, in one round trip. */
export function getSaga(schema: string, name: string, correlationId: string): Query {
  return {
    text: `SELECT ${SAGA_COLUMNS}, compensations, COALESCE((
        SELECT jsonb_agg(jsonb_build_object(
          'type', t.timeout_type, 'dueAt', t.due_at, 'payload', t.payload,
          'lockedUntil', t.locked_until, 'createdAt', t.created_at) ORDER BY t.due_at)
        FROM ${table(schema, 'flowbus_saga_timeout')} t
        WHERE t.saga_name = s.saga_name AND t.correlation_id = s.correlation_id), '[]'::jsonb) AS timeouts
      FROM ${table(schema, 'flowbus_saga')} s WHERE saga_name = $1 AND correlation_id = $2`,
    values: [name, correlationId],
  };
}

/** Messages of one conversation (and of one saga instance's timeline) listed at most. */
export const CONVERSATION_MAX = 500;

/** A message of a conversation or timeline, from the outbox or the dead letters. */
const conversationColumns = (now: string, table: 'outbox' | 'dead') => `id, destination, subscriber, type,
  ${CAUSE_COLUMNS}, headers->>'flowbus-saga' AS saga,
  ${table === 'outbox' ? OUTBOX_STATUS_SQL(now) : "'dead-letter'"} AS status, attempts, last_error AS "lastError",
  created_at AS "createdAt", ${table === 'outbox' ? 'delivered_at' : 'failed_at'} AS "finishedAt"`;

/**
 * Every message of a conversation (header `correlation-id`), delivered, pending or dead, oldest
 * first. The header is not indexed: this scans the tables, which the admin API can afford.
 */
export function conversation(schema: string, correlationId: string, now: Date, log?: LogRoutes): Query {
  const values: unknown[] = [correlationId, now, CONVERSATION_MAX + 1];
  const source = outboxSource(schema, (v) => `$${values.push(v)}`, log, true);
  return {
    text: `
      SELECT * FROM (
        SELECT ${conversationColumns('$2', 'outbox')} FROM ${source} WHERE headers->>'correlation-id' = $1
        UNION ALL
        SELECT ${conversationColumns('$2', 'dead')} FROM ${table(schema, 'flowbus_dead_letter')} WHERE headers->>'correlation-id' = $1
      ) m ORDER BY "createdAt", id LIMIT $3`,
    values,
  };
}

/**
 * A saga instance's timeline: the messages its steps wrote (header `flowbus-saga`) and the
 * messages delivered to the saga in the same conversations (what ran its steps), oldest first.
 */
export function sagaTimeline(schema: string, name: string, correlationId: string, now: Date, log?: LogRoutes): Query {
  const values: unknown[] = [`${name}/${correlationId}`, `saga:${name}`, now, CONVERSATION_MAX + 1];
  const dead = table(schema, 'flowbus_dead_letter');
  return {
    text: `
      WITH outbox AS NOT MATERIALIZED (
        SELECT * FROM ${outboxSource(schema, (v) => `$${values.push(v)}`, log, true)}
      ), sent AS (
        SELECT ${conversationColumns('$3', 'outbox')} FROM outbox WHERE headers->>'flowbus-saga' = $1
        UNION ALL
        SELECT ${conversationColumns('$3', 'dead')} FROM ${dead} WHERE headers->>'flowbus-saga' = $1
      ), conversations AS (
        SELECT DISTINCT "correlationId" FROM sent WHERE "correlationId" IS NOT NULL
      ), received AS (
        SELECT ${conversationColumns('$3', 'outbox')} FROM outbox
        WHERE subscriber = $2 AND headers->>'correlation-id' IN (SELECT * FROM conversations)
        UNION ALL
        SELECT ${conversationColumns('$3', 'dead')} FROM ${dead}
        WHERE subscriber = $2 AND headers->>'correlation-id' IN (SELECT * FROM conversations)
      )
      SELECT * FROM (SELECT * FROM sent UNION SELECT * FROM received) m ORDER BY "createdAt", id LIMIT $4`,
    values,
  };
}

import { table } from '../database/sql-identifiers.js';
import type { Query } from '../outbox/outbox.queries.js';

/** A saga instance row. */
export interface SagaRow {
  id: string;
  saga_name: string;
  correlation_id: string;
  status: string;
  state: Record<string, unknown>;
  version: number;
  compensations: unknown[];
  reason: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** A timeout row as the scheduler claims it. */
export interface TimeoutRow {
  id: string;
  saga_name: string;
  correlation_id: string;
  timeout_type: string;
  token: string;
  payload: unknown;
  due_at: Date;
}

/** Loads an instance; `lock` takes its row lock (used after a version conflict, so a retry cannot lose again). */
export function loadSaga(schema: string, name: string, correlationId: string, lock: boolean): Query {
  return {
    text: `SELECT * FROM ${table(schema, 'flowbus_saga')} WHERE saga_name = $1 AND correlation_id = $2${lock ? ' FOR UPDATE' : ''}`,
    values: [name, correlationId],
  };
}

/**
 * Loads the instances a batch of steps is for; `lock` also locks them (a rerun after a version
 * conflict), in id order, so two batches sharing instances queue instead of deadlocking.
 */
export function loadSagas(schema: string, name: string, correlationIds: string[], lock: boolean): Query {
  return {
    text: `SELECT * FROM ${table(schema, 'flowbus_saga')} WHERE saga_name = $1 AND correlation_id = ANY($2::text[])${lock ? ' ORDER BY id FOR UPDATE' : ''}`,
    values: [name, correlationIds],
  };
}

/**
 * Takes a transaction-level advisory lock per instance (64-bit hash of saga name and correlation
 * id), in hash order, before a transaction writes anything for them. Every path that saves
 * instances (relay batches, bus steps, fired timeouts) takes these first, so two transactions
 * touching the same instances queue on one lock order instead of on the order in which their
 * inserts, updates and unique-index checks happen to reach the rows (deadlock detected). A hash
 * collision only makes two unrelated instances queue.
 */
export function lockInstances(schema: string, name: string, correlationIds: string[]): Query {
  return {
    text: `SELECT count(*)::int AS locked FROM (
        SELECT pg_advisory_xact_lock(k.h) FROM (
          SELECT DISTINCT hashtextextended($1 || '/' || $2 || '/' || c, 0) AS h FROM unnest($3::text[]) AS c
          ORDER BY h) k) l`,
    values: [schema, name, correlationIds],
  };
}

/**
 * Records deliveries in the inbox and loads the instances they are for, in one round trip (the
 * first, optimistic attempt of a batch). One row at least; the first row's `fresh_ids` holds the
 * message ids not processed before (the others are duplicates; parsed once, not on every row);
 * the instance columns are null when none exists.
 */
export function inboxAndLoadSagas(
  schema: string,
  p: { messageIds: string[]; subscriber: string; name: string; correlationIds: string[] },
): Query {
  return {
    text: `WITH fresh AS (
        INSERT INTO ${table(schema, 'flowbus_inbox')} (message_id, subscriber)
        SELECT unnest($1::uuid[]), $2 ON CONFLICT DO NOTHING RETURNING message_id)
      SELECT CASE WHEN row_number() OVER () = 1 THEN f.fresh_ids END AS fresh_ids, s.*
      FROM (SELECT coalesce(array_agg(message_id), '{}') AS fresh_ids FROM fresh) f
      LEFT JOIN ${table(schema, 'flowbus_saga')} s ON s.saga_name = $3 AND s.correlation_id = ANY($4::text[])`,
    values: [p.messageIds, p.subscriber, p.name, p.correlationIds],
  };
}

/** Columns of instances a batch writes, one array element per instance. */
export interface SagaWrites {
  correlationIds: string[];
  /** Updates: the version read; inserts: the version to create (the number of steps applied). */
  versions: number[];
  /** Steps applied to each instance in the batch. */
  steps: number[];
  statuses: string[];
  states: string[];
  compensations: string[];
  reasons: (string | null)[];
}

/** Saves instances a batch changed; returns one row per instance still at the version read. */
export function updateSagas(schema: string, p: { ids: string[]; writes: SagaWrites; now: Date }): Query {
  const w = p.writes;
  return {
    text: `UPDATE ${table(schema, 'flowbus_saga')} s
      SET status = u.status, state = u.state::jsonb, compensations = u.compensations::jsonb, reason = u.reason,
          version = s.version + u.steps, updated_at = $8,
          finished_at = CASE WHEN u.status = 'running' THEN NULL ELSE $8::timestamptz END
      FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
        AS u(id, version, steps, status, state, compensations, reason)
      WHERE s.id = u.id AND s.version = u.version RETURNING s.id`,
    values: [p.ids, w.versions, w.steps, w.statuses, w.states, w.compensations, w.reasons, p.now],
  };
}

/** Creates instances a batch started; returns no row for one a concurrent start created first. */
export function insertSagas(schema: string, p: { name: string; writes: SagaWrites; now: Date }): Query {
  const w = p.writes;
  return {
    text: `INSERT INTO ${table(schema, 'flowbus_saga')}
      (saga_name, correlation_id, status, state, version, compensations, reason, created_at, updated_at, finished_at)
      SELECT $1, u.correlation_id, u.status, u.state::jsonb, u.version, u.compensations::jsonb, u.reason, $8, $8,
        CASE WHEN u.status = 'running' THEN NULL ELSE $8::timestamptz END
      FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
        AS u(correlation_id, version, status, state, compensations, reason)
      ON CONFLICT (saga_name, correlation_id) DO NOTHING RETURNING id`,
    values: [p.name, w.correlationIds, w.versions, w.statuses, w.states, w.compensations, w.reasons, p.now],
  };
}

/** Schedules several timeouts (at most one per instance and type), replacing earlier ones. */
export function upsertTimeouts(
  schema: string,
  p: {
    name: string;
    correlationIds: string[];
    types: string[];
    tokens: string[];
    payloads: string[];
    dueAts: Date[];
  },
): Query {
  return {
    text: `INSERT INTO ${table(schema, 'flowbus_saga_timeout')} (saga_name, correlation_id, timeout_type, token, payload, due_at)
      SELECT $1, u.correlation_id, u.timeout_type, u.token, u.payload::jsonb, u.due_at
      FROM unnest($2::text[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[])
        AS u(correlation_id, timeout_type, token, payload, due_at)
      ON CONFLICT (saga_name, correlation_id, timeout_type)
      DO UPDATE SET token = EXCLUDED.token, payload = EXCLUDED.payload, due_at = EXCLUDED.due_at, locked_until = NULL`,
    values: [p.name, p.correlationIds, p.types, p.tokens, p.payloads, p.dueAts],
  };
}

/** Cancels timeouts by instance and type. */
export function deleteTimeoutTypes(schema: string, name: string, correlationIds: string[], types: string[]): Query {
  return {
    text: `DELETE FROM ${table(schema, 'flowbus_saga_timeout')} t
      USING unnest($2::text[], $3::text[]) AS u(correlation_id, timeout_type)
      WHERE t.saga_name = $1 AND t.correlation_id = u.correlation_id AND t.timeout_type = u.timeout_type`,
    values: [name, correlationIds, types],
  };
}

/** Drops every pending timeout of finished instances. */
export function deleteTimeoutsOf(schema: string, name: string, correlationIds: string[]): Query {
  return {
    text: `DELETE FROM ${table(schema, 'flowbus_saga_timeout')} WHERE saga_name = $1 AND correlation_id = ANY($2::text[])`,
    values: [name, correlationIds],
  };
}

/**
 * Locks claimed timeouts for firing; returns the rows still holding the claimed token (the others
 * were rescheduled, cancelled or fired meanwhile).
 */
export function lockTimeouts(schema: string, ids: string[]): Query {
  return {
    text: `SELECT id, token FROM ${table(schema, 'flowbus_saga_timeout')} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    values: [ids],
  };
}

/** Deletes fired timeouts; a row rescheduled by the step that fired it has a new token and stays. */
export function deleteFiredTimeouts(schema: string, ids: string[], tokens: string[]): Query {
  return {
    text: `DELETE FROM ${table(schema, 'flowbus_saga_timeout')} t
      USING unnest($1::uuid[], $2::uuid[]) AS u(id, token)
      WHERE t.id = u.id AND t.token = u.token`,
    values: [ids, tokens],
  };
}

/**
 * Claims due timeouts with a lease (SKIP LOCKED), so instances polling together split them.
 * The lease only spreads work: firing deletes the row by id and token in the step transaction,
 * which is what makes a timeout fire at most once.
 */
export function claimDueTimeouts(
  schema: string,
  p: { now: Date; leaseUntil: Date; limit: number; names: string[] },
): Query {
  const t = table(schema, 'flowbus_saga_timeout');
  return {
    text: `UPDATE ${t} SET locked_until = $2
      WHERE id IN (
        SELECT id FROM ${t}
        WHERE due_at <= $1 AND (locked_until IS NULL OR locked_until < $1) AND saga_name = ANY($4::text[])
        ORDER BY due_at LIMIT $3
        FOR UPDATE SKIP LOCKED)
      RETURNING id, saga_name, correlation_id, timeout_type, token, payload, due_at`,
    values: [p.now, p.leaseUntil, p.limit, p.names],
  };
}

/** Takes a claimed timeout for firing; no row when it was rescheduled, cancelled or fired meanwhile. */
export function takeTimeout(schema: string, id: string, token: string): Query {
  return {
    text: `DELETE FROM ${table(schema, 'flowbus_saga_timeout')} WHERE id = $1 AND token = $2::uuid RETURNING id`,
    values: [id, token],
  };
}

/**
 * Next due time of the given sagas' timeouts not leased at `now`, to arm an in-process timer
 * before the next poll. Walks the due index from its start, past the (few) leased rows.
 */
export function nextTimeoutDue(schema: string, p: { names: string[]; now: Date }): Query {
  return {
    text: `SELECT due_at FROM ${table(schema, 'flowbus_saga_timeout')}
      WHERE saga_name = ANY($1::text[]) AND (locked_until IS NULL OR locked_until < $2)
      ORDER BY due_at LIMIT 1`,
    values: [p.names, p.now],
  };
}

export function timeoutsOf(schema: string, name: string, correlationId: string): Query {
  return {
    text: `SELECT timeout_type, token, payload, due_at FROM ${table(schema, 'flowbus_saga_timeout')}
      WHERE saga_name = $1 AND correlation_id = $2 ORDER BY due_at`,
    values: [name, correlationId],
  };
}

export function listSagas(
  schema: string,
  p: { name?: string; status?: string; afterSeq?: number; limit: number },
): Query {
  return {
    text: `SELECT * FROM ${table(schema, 'flowbus_saga')}
      WHERE ($1::text IS NULL OR saga_name = $1) AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR seq > $3)
      ORDER BY seq LIMIT $4`,
    values: [p.name ?? null, p.status ?? null, p.afterSeq ?? null, p.limit],
  };
}

/** A data-modifying statement run as a CTE of `combineWrites`; `counted` ones end with RETURNING. */
export interface WritePart {
  readonly name: string;
  readonly query: Query;
  readonly counted: boolean;
}

/**
 * Runs several writes as one statement (data-modifying CTEs, which all run even when the outer
 * SELECT does not read them), one round trip instead of one each. Returns one row with the
 * number of rows each counted part returned, under its name; with `notifyChannel`, also queues
 * a NOTIFY (sent by PostgreSQL at commit).
 */
export function combineWrites(parts: readonly WritePart[], notifyChannel?: string): Query {
  const values: unknown[] = [];
  const ctes = parts.map((p) => {
    const offset = values.length;
    values.push(...p.query.values);
    const text = p.query.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    return `${p.name} AS (${text})`;
  });
  const columns = parts.filter((p) => p.counted).map((p) => `(SELECT count(*) FROM ${p.name})::int AS ${p.name}`);
  if (notifyChannel !== undefined) {
    values.push(notifyChannel);
    columns.push(`pg_notify($${values.length}, '') AS notified`);
  }
  return {
    text: `WITH ${ctes.join(',\n')}\nSELECT ${columns.length > 0 ? columns.join(', ') : '1 AS done'}`,
    values,
  };
}

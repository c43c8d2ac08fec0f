import { table } from '../database/sql-identifiers.js';
import { logDeliveries } from '../outbox/log.queries.js';
import type { Query } from '../outbox/outbox.queries.js';

/**
 * Every figure of `GET /stats`, the metrics' gauges and the health check in one statement: one
 * scan of the outbox grouped by destination and subscriber (counts per derived status, oldest
 * undelivered row), dead letters per destination, sagas per name and status, and scheduled
 * timeouts. Ages are computed on the database clock, as `created_at` is the database's now().
 *
 * `local` names the pairs (event type, subscriber) this app has: an undelivered `local` row for
 * another pair counts as "no subscriber here" (it waits for an app that has the subscriber).
 * With the log storage, the deliveries are read from the log and its retry rows (logDeliveries).
 */
export function stats(
  schema: string,
  now: Date,
  local: { name: string; types: string[]; names: string[] },
  /** Log storage: the routes, to read the deliveries of the log (see logDeliveries). */
  log?: readonly { eventType: string; destination: string }[],
): Query {
  const values: unknown[] = [now, local.name, local.types, local.names];
  const source = log ? logDeliveries(schema, (v) => `$${values.push(v)}`, log, true) : table(schema, 'flowbus_outbox');
  return {
    text: `
      WITH groups AS (
        SELECT destination, subscriber,
          count(*) FILTER (WHERE delivered_at IS NULL AND (locked_until IS NULL OR locked_until <= $1))::int AS pending,
          count(*) FILTER (WHERE delivered_at IS NULL AND destination = $2
            AND (type, subscriber) NOT IN (SELECT * FROM unnest($3::text[], $4::text[])))::int AS "noSubscriberHere",
          count(*) FILTER (WHERE delivered_at IS NULL AND locked_until > $1)::int AS "inFlight",
          count(*) FILTER (WHERE delivered_at IS NOT NULL)::int AS delivered,
          min(created_at) FILTER (WHERE delivered_at IS NULL) AS oldest
        FROM ${source} GROUP BY destination, subscriber
      ), outbox AS (
        SELECT destination, sum(pending)::int AS pending, sum("noSubscriberHere")::int AS "noSubscriberHere",
          sum("inFlight")::int AS "inFlight", sum(delivered)::int AS delivered, min(oldest) AS oldest
        FROM groups GROUP BY destination
      ), dead AS (
        SELECT destination, count(*)::int AS count FROM ${table(schema, 'flowbus_dead_letter')} GROUP BY destination
      ), sagas AS (
        SELECT saga_name, status, count(*)::int AS count FROM ${table(schema, 'flowbus_saga')} GROUP BY saga_name, status
      )
      SELECT
        COALESCE((SELECT jsonb_agg(jsonb_build_object('destination', destination, 'pending', pending,
          'inFlight', "inFlight", 'delivered', delivered, 'noSubscriberHere', "noSubscriberHere",
          'oldestPendingAgeMs', ${ageMs('oldest')}) ORDER BY destination) FROM outbox), '[]'::jsonb) AS outbox,
        COALESCE((SELECT jsonb_agg(jsonb_build_object('destination', destination, 'subscriber', subscriber,
          'pending', pending + "inFlight", 'oldestPendingAgeMs', ${ageMs('oldest')}) ORDER BY destination, subscriber)
          FROM groups WHERE subscriber <> ''), '[]'::jsonb) AS subscribers,
        (SELECT ${ageMs('min(oldest)')} FROM outbox) AS "oldestPendingAgeMs",
        COALESCE((SELECT jsonb_agg(jsonb_build_object('destination', destination, 'count', count) ORDER BY destination) FROM dead), '[]'::jsonb) AS dead,
        COALESCE((SELECT jsonb_agg(jsonb_build_object('name', saga_name, 'status', status, 'count', count) ORDER BY saga_name, status) FROM sagas), '[]'::jsonb) AS sagas,
        (SELECT count(*)::int FROM ${table(schema, 'flowbus_saga_timeout')}) AS timeouts`,
    values,
  };
}

/** Milliseconds from `column` to the database's now(), null when `column` is null. */
function ageMs(column: string): string {
  return `(CASE WHEN ${column} IS NULL THEN NULL ELSE GREATEST(0, floor(extract(epoch FROM now() - ${column}) * 1000)) END)::float8`;
}

/**
 * What can hold delivery back, for "why is it stalled?": rows leased long ago by another relay
 * (an instance that may have stopped; they wait for their lease to expire), undelivered `local`
 * rows for a subscriber this app lacks (recorded by another app, or by none), and transactions
 * open for long in this database (they hold PostgreSQL's xmin horizon, so vacuum keeps every
 * delivered row and claims slow down).
 */
export function stallCauses(
  schema: string,
  p: {
    now: Date;
    local: { name: string; types: string[]; names: string[] };
    /** Leases taken before this, by another owner, count as stale. */
    staleLeaseTakenBefore: Date;
    leaseMs: number;
    owner: string;
    /** Transactions open longer than this (ms) count. */
    transactionAgeMs: number;
  },
): Query {
  const outbox = table(schema, 'flowbus_outbox');
  return {
    text: `
      WITH stale AS (
        SELECT lock_owner AS owner, destination, count(*)::int AS count, max(locked_until) AS until
        FROM ${outbox}
        WHERE delivered_at IS NULL AND locked_until > $1 AND lock_owner <> $6
          AND locked_until - make_interval(secs => $7::float8 / 1000) < $5
        GROUP BY lock_owner, destination
      ), orphans AS (
        SELECT o.type, o.subscriber, count(*)::int AS count, max(s.seen_at) AS "seenAt"
        FROM ${outbox} o
        LEFT JOIN ${table(schema, 'flowbus_subscriber')} s ON s.event_type = o.type AND s.subscriber = o.subscriber
        WHERE o.delivered_at IS NULL AND o.destination = $2
          AND (o.type, o.subscriber) NOT IN (SELECT * FROM unnest($3::text[], $4::text[]))
        GROUP BY o.type, o.subscriber
      ), old AS (
        SELECT pid, usename AS "user", application_name AS application, state, xact_start AS since,
          left(query, 200) AS query
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND xact_start < now() - make_interval(secs => $8::float8 / 1000)
          AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)
        ORDER BY xact_start LIMIT 5
      )
      SELECT
        COALESCE((SELECT jsonb_agg(to_jsonb(stale) ORDER BY owner, destination) FROM stale), '[]'::jsonb) AS stale,
        COALESCE((SELECT jsonb_agg(to_jsonb(orphans) ORDER BY type, subscriber) FROM orphans), '[]'::jsonb) AS orphans,
        COALESCE((SELECT jsonb_agg(to_jsonb(old) ORDER BY since) FROM old), '[]'::jsonb) AS transactions`,
    values: [
      p.now,
      p.local.name,
      p.local.types,
      p.local.names,
      p.staleLeaseTakenBefore,
      p.owner,
      p.leaseMs,
      p.transactionAgeMs,
    ],
  };
}

/**
 * Throughput and backlog per destination over the last `buckets` × `bucketSeconds`, for the
 * dashboard's charts, rebuilt from the rows (delivered rows stay until retention): per bucket,
 * messages delivered, attempts failed (error history entries) and dead-lettered, and the backlog
 * at the bucket's end (created by then, not yet delivered or dead-lettered by then).
 */
export function history(
  schema: string,
  p: { now: Date; buckets: number; bucketSeconds: number; log?: readonly { eventType: string; destination: string }[] },
): Query {
  const values: unknown[] = [p.now, p.buckets, p.bucketSeconds];
  const source = p.log
    ? logDeliveries(schema, (v) => `$${values.push(v)}`, p.log, true)
    : `${table(schema, 'flowbus_outbox')} o`;
  const dead = table(schema, 'flowbus_dead_letter');
  return {
    text: `
      WITH outbox AS NOT MATERIALIZED (SELECT * FROM ${source}), b AS (
        SELECT $1::timestamptz - make_interval(secs => $3 * (i + 1)) AS start,
               $1::timestamptz - make_interval(secs => $3 * i) AS stop
        FROM generate_series(0, $2 - 1) AS i
      ), since AS (SELECT min(start) AS t FROM b),
      rows AS (
        SELECT destination, created_at, delivered_at AS done, errors FROM outbox
        WHERE delivered_at IS NULL OR delivered_at >= (SELECT t FROM since)
        UNION ALL
        SELECT destination, created_at, failed_at AS done, errors FROM ${dead}
        WHERE failed_at >= (SELECT t FROM since)
      ), failures AS (
        SELECT destination, (e->>'at')::timestamptz AS at FROM rows, jsonb_array_elements(errors) e
        WHERE (e->>'attempt')::int > 0 AND (e->>'at')::timestamptz >= (SELECT t FROM since)
      ), dests AS (SELECT DISTINCT destination FROM rows)
      SELECT d.destination, b.stop AS at,
        (SELECT count(*) FROM outbox o WHERE o.destination = d.destination
          AND o.delivered_at >= b.start AND o.delivered_at < b.stop)::int AS delivered,
        (SELECT count(*) FROM failures f WHERE f.destination = d.destination AND f.at >= b.start AND f.at < b.stop)::int AS failed,
        (SELECT count(*) FROM rows r WHERE r.destination = d.destination AND r.created_at < b.stop
          AND (r.done IS NULL OR r.done >= b.stop))::int AS backlog
      FROM dests d CROSS JOIN b ORDER BY d.destination, b.stop`,
    values,
  };
}

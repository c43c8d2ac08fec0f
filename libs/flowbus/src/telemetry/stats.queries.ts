import { table } from '../database/sql-identifiers.js';
import type { Query } from '../outbox/outbox.queries.js';

/**
 * Every figure of `GET /stats`, the metrics' gauges and the health check in one statement: one
 * scan of the outbox grouped by destination and subscriber (counts per derived status, oldest
 * undelivered row), dead letters per destination, sagas per name and status, and scheduled
 * timeouts. Ages are computed on the database clock, as `created_at` is the database's now().
 *
 * `local` names the pairs (event type, subscriber) this app has: an undelivered `local` row for
 * another pair counts as "no subscriber here" (it waits for an app that has the subscriber).
 * The storage of issue #12 changes this query alone.
 */
export function stats(schema: string, now: Date, local: { name: string; types: string[]; names: string[] }): Query {
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
        FROM ${table(schema, 'flowbus_outbox')} GROUP BY destination, subscriber
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
    values: [now, local.name, local.types, local.names],
  };
}

/** Milliseconds from `column` to the database's now(), null when `column` is null. */
function ageMs(column: string): string {
  return `(CASE WHEN ${column} IS NULL THEN NULL ELSE GREATEST(0, floor(extract(epoch FROM now() - ${column}) * 1000)) END)::float8`;
}

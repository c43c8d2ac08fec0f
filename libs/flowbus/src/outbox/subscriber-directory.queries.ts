import { table } from '../database/sql-identifiers.js';
import type { Query } from './outbox.queries.js';

/** Records (or refreshes) durable subscribers: one row per event type and subscriber name. */
export function upsertSubscribers(
  schema: string,
  p: { types: string[]; names: string[]; kinds: string[]; now: Date },
): Query {
  return {
    text: `INSERT INTO ${table(schema, 'flowbus_subscriber')} (event_type, subscriber, kind, registered_at, seen_at)
      SELECT t, n, k, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS s(t, n, k)
      ON CONFLICT (event_type, subscriber) DO UPDATE SET kind = EXCLUDED.kind, seen_at = EXCLUDED.seen_at`,
    values: [p.types, p.names, p.kinds, p.now],
  };
}

/** Every recorded subscriber. */
export function listSubscribers(schema: string): Query {
  return {
    text: `SELECT event_type AS "eventType", subscriber FROM ${table(schema, 'flowbus_subscriber')}
      ORDER BY event_type, subscriber`,
    values: [],
  };
}

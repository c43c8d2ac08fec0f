import { table } from '../database/sql-identifiers.js';
import type { Query } from '../outbox/outbox.queries.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';

/** Header of a stored message naming the source it came from (flow control counts by it). */
export const SOURCE_HEADER = 'flowbus-source';
/** Header of a stored message carrying the producer's message id. */
export const SOURCE_ID_HEADER = 'flowbus-source-id';

/** Records message ids of `source`; returns (as `id`) the ids not recorded before. */
export function insertReceived(schema: string, source: string, ids: readonly string[]): Query {
  return {
    text: `INSERT INTO ${table(schema, 'flowbus_received')} (source, message_id)
           SELECT $1, unnest($2::text[])
           ON CONFLICT DO NOTHING
           RETURNING message_id AS id`,
    values: [source, ids],
  };
}

/**
 * Local backlog of a source, counted up to `limit`: stored messages not yet delivered to their
 * subscriber. Bound to the outbox storage: the one place to change when the storage changes. With
 * the log storage, the rows of `flowbus_outbox` (retried and parked deliveries) and the log rows
 * some durable subscriber of their type has yet to read: after its cursor's tick in their
 * partition (not visible in that tick's snapshot). The seq window starts at the lowest floor of
 * the local cursors, so only the unread tail of the log is scanned.
 */
export function countBacklog(schema: string, source: string, limit: number, storage: 'table' | 'log'): Query {
  const pending = `SELECT 1 FROM ${table(schema, 'flowbus_outbox')}
             WHERE delivered_at IS NULL AND destination = $1 AND headers ->> '${SOURCE_HEADER}' = $2`;
  if (storage === 'table') {
    return {
      text: `SELECT count(*)::int AS n FROM (${pending} LIMIT $3) backlog`,
      values: [LOCAL_DESTINATION, source, limit],
    };
  }
  const [log, tick, cursor, subscriber] = ['flowbus_log', 'flowbus_tick', 'flowbus_cursor', 'flowbus_subscriber'].map(
    (t) => table(schema, t),
  );
  return {
    text: `SELECT count(*)::int AS n FROM (
             (${pending} LIMIT $3)
             UNION ALL
             (SELECT 1 FROM ${log} l
              WHERE l.destination IS NULL AND l.headers ->> '${SOURCE_HEADER}' = $2
                AND l.seq > (SELECT COALESCE(min(t.floor_seq), 0) FROM ${cursor} c JOIN ${tick} t ON t.id = c.tick_id
                             WHERE c.subscriber LIKE 'local:%')
                AND EXISTS (SELECT 1 FROM ${subscriber} s
                  JOIN ${cursor} c ON c.subscriber = 'local:' || s.subscriber AND c.part = l.part
                  JOIN ${tick} t ON t.id = c.tick_id
                  WHERE s.event_type = l.type AND l.seq > t.floor_seq AND NOT pg_visible_in_snapshot(l.txid, t.snap))
              LIMIT $3)
           ) backlog`,
    values: [LOCAL_DESTINATION, source, limit],
  };
}

/** Deletes up to `batch` received ids older than `olderThanMs` (the deduplication window). */
export function deleteOldReceived(schema: string, olderThanMs: number, batch: number): Query {
  const t = table(schema, 'flowbus_received');
  return {
    text: `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM ${t} WHERE received_at < now() - make_interval(secs => $1::double precision / 1000)
             LIMIT $2))`,
    values: [olderThanMs, batch],
  };
}

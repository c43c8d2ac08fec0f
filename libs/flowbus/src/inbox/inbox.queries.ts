import { table } from '../database/sql-identifiers.js';
import type { Query } from '../outbox/outbox.queries.js';

/*
 * The inbox (`flowbus_inbox`, one row per message and durable subscriber that processed it): its
 * one owner. Durable handlers (bus), saga steps and local deliveries record and forget their rows
 * through these; retention deletes the old ones.
 */

/** Deletes up to `limit` inbox rows processed before `before`. */
export function deleteInbox(schema: string, before: Date, limit: number): Query {
  const inbox = table(schema, 'flowbus_inbox');
  return {
    text: `DELETE FROM ${inbox} WHERE (message_id, subscriber) IN (
      SELECT message_id, subscriber FROM ${inbox} WHERE processed_at < $1 LIMIT $2)`,
    values: [before, limit],
  };
}

/** Records that `subscriber` processed each of `messageIds`; returns the ids it had not processed yet. */
export function insertInboxBatch(schema: string, messageIds: string[], subscriber: string): Query {
  return {
    text: `INSERT INTO ${table(schema, 'flowbus_inbox')} (message_id, subscriber)
      SELECT unnest($1::uuid[]), $2 ON CONFLICT DO NOTHING RETURNING message_id`,
    values: [messageIds, subscriber],
  };
}

/** Forgets inbox rows written in the same transaction for messages whose processing failed. */
export function deleteInboxRows(schema: string, messageIds: string[], subscriber: string): Query {
  return {
    text: `DELETE FROM ${table(schema, 'flowbus_inbox')} WHERE message_id = ANY($1::uuid[]) AND subscriber = $2`,
    values: [messageIds, subscriber],
  };
}

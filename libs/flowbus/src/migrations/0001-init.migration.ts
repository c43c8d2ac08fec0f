import type { QueryRunner } from 'typeorm';
import { quoteSchema, table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/** Outbox, dead letters and inbox. Released: never edit, add a new migration instead. */
export class Init0001Migration extends FlowbusMigration {
  readonly id = 1;
  readonly name = 'FlowbusInit1763769600001';

  async up(q: QueryRunner): Promise<void> {
    const s = this.schema;
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${quoteSchema(s)}`);
    // seq orders messages for per-key FIFO and keyset pagination: created_at is the transaction's
    // start time and ties for every row of one transaction.
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${table(s, 'flowbus_outbox')} (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        destination text NOT NULL,
        subscriber text NOT NULL DEFAULT '',
        type text NOT NULL,
        key text,
        payload jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        attempts integer NOT NULL DEFAULT 0,
        errors jsonb NOT NULL DEFAULT '[]'::jsonb,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        lock_owner text,
        delivered_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX IF NOT EXISTS flowbus_outbox_seq ON ${table(s, 'flowbus_outbox')} (seq)`);
    await q.query(`
      CREATE INDEX IF NOT EXISTS flowbus_outbox_due ON ${table(s, 'flowbus_outbox')} (next_attempt_at, seq)
      WHERE delivered_at IS NULL`);
    await q.query(`
      CREATE INDEX IF NOT EXISTS flowbus_outbox_key_order ON ${table(s, 'flowbus_outbox')} (destination, subscriber, key, seq)
      WHERE delivered_at IS NULL AND key IS NOT NULL`);
    await q.query(`
      CREATE INDEX IF NOT EXISTS flowbus_outbox_delivered ON ${table(s, 'flowbus_outbox')} (delivered_at)
      WHERE delivered_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${table(s, 'flowbus_dead_letter')} (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        destination text NOT NULL,
        subscriber text NOT NULL DEFAULT '',
        type text NOT NULL,
        key text,
        payload jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        attempts integer NOT NULL,
        errors jsonb NOT NULL DEFAULT '[]'::jsonb,
        last_error text,
        created_at timestamptz NOT NULL,
        failed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX IF NOT EXISTS flowbus_dead_letter_seq ON ${table(s, 'flowbus_dead_letter')} (seq)`,
    );
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${table(s, 'flowbus_inbox')} (
        message_id uuid NOT NULL,
        subscriber text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (message_id, subscriber)
      )`);
    await q.query(`CREATE INDEX IF NOT EXISTS flowbus_inbox_processed ON ${table(s, 'flowbus_inbox')} (processed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = this.schema;
    await q.query(`DROP TABLE IF EXISTS ${table(s, 'flowbus_inbox')}`);
    await q.query(`DROP TABLE IF EXISTS ${table(s, 'flowbus_dead_letter')}`);
    await q.query(`DROP TABLE IF EXISTS ${table(s, 'flowbus_outbox')}`);
  }
}

import type { QueryRunner } from 'typeorm';
import { table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/**
 * The subscriber directory: every app records its durable subscribers (event type, stable name,
 * kind) at start, so an app that only produces knows whom a message is for. Released: never edit,
 * add a new migration instead.
 */
export class Subscribers0003Migration extends FlowbusMigration {
  readonly id = 3;
  readonly name = 'FlowbusSubscribers1763769600003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${table(this.schema, 'flowbus_subscriber')} (
        event_type text NOT NULL,
        subscriber text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('handler', 'saga')),
        registered_at timestamptz NOT NULL DEFAULT now(),
        seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (event_type, subscriber)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${table(this.schema, 'flowbus_subscriber')}`);
  }
}

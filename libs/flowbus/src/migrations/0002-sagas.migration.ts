import type { QueryRunner } from 'typeorm';
import { table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/** Saga instances and their timeouts. Released: never edit, add a new migration instead. */
export class Sagas0002Migration extends FlowbusMigration {
  readonly id = 2;
  readonly name = 'FlowbusSagas1763769600002';

  async up(q: QueryRunner): Promise<void> {
    const s = this.schema;
    // compensations: the messages recorded by addCompensation, sent in reverse by compensate().
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${table(s, 'flowbus_saga')} (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        saga_name text NOT NULL,
        correlation_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'completed', 'compensating', 'compensated', 'failed')),
        state jsonb NOT NULL DEFAULT '{}'::jsonb,
        version integer NOT NULL DEFAULT 1,
        compensations jsonb NOT NULL DEFAULT '[]'::jsonb,
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CONSTRAINT flowbus_saga_instance UNIQUE (saga_name, correlation_id)
      )`);
    await q.query(`CREATE UNIQUE INDEX IF NOT EXISTS flowbus_saga_seq ON ${table(s, 'flowbus_saga')} (seq)`);
    await q.query(`CREATE INDEX IF NOT EXISTS flowbus_saga_status ON ${table(s, 'flowbus_saga')} (status, seq)`);
    // One row per (instance, timeout type): scheduling the same type again replaces due time and token.
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${table(s, 'flowbus_saga_timeout')} (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        saga_name text NOT NULL,
        correlation_id text NOT NULL,
        timeout_type text NOT NULL,
        token uuid NOT NULL,
        payload jsonb NOT NULL DEFAULT '{}'::jsonb,
        due_at timestamptz NOT NULL,
        locked_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT flowbus_saga_timeout_type UNIQUE (saga_name, correlation_id, timeout_type)
      )`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS flowbus_saga_timeout_due ON ${table(s, 'flowbus_saga_timeout')} (due_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${table(this.schema, 'flowbus_saga_timeout')}`);
    await q.query(`DROP TABLE IF EXISTS ${table(this.schema, 'flowbus_saga')}`);
  }
}

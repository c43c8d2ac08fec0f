import type { QueryRunner } from 'typeorm';
import { table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/**
 * Messages received from sources (RabbitMQ, NATS JetStream), by source and broker message id, so
 * a redelivered or duplicated message is stored once. Released: never edit, add a new migration.
 * Number 4 belongs to the log storage (issue 12); the runner applies whatever is missing.
 */
export class Received0005Migration extends FlowbusMigration {
  readonly id = 5;
  readonly name = 'FlowbusReceived1763769600005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${table(this.schema, 'flowbus_received')} (
        source text NOT NULL,
        message_id text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, message_id)
      )`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS flowbus_received_at ON ${table(this.schema, 'flowbus_received')} (received_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${table(this.schema, 'flowbus_received')}`);
  }
}

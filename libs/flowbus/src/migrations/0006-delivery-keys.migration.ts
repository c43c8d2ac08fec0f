import type { QueryRunner } from 'typeorm';
import { table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/**
 * Retry and dead-letter rows are keyed by (message id, subscriber), not by id alone. With the log
 * storage one published event is one message (one id) read by several durable subscribers, and
 * each subscriber that fails it gets its own row in `flowbus_outbox` (its retries) or
 * `flowbus_dead_letter`, under the message's own id: the id the user published, saw in the
 * handler and finds in the inbox. On the table storage every row has its own id already, so the
 * wider key changes nothing there. Released: never edit, add a new migration instead.
 */
export class DeliveryKeys0006Migration extends FlowbusMigration {
  readonly id = 6;
  readonly name = 'FlowbusDeliveryKeys1763769600006';

  async up(q: QueryRunner): Promise<void> {
    for (const name of ['flowbus_outbox', 'flowbus_dead_letter'] as const) {
      await q.query(`ALTER TABLE ${table(this.schema, name)}
        DROP CONSTRAINT IF EXISTS ${name}_pkey, ADD CONSTRAINT ${name}_pkey PRIMARY KEY (id, subscriber)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const name of ['flowbus_outbox', 'flowbus_dead_letter'] as const) {
      await q.query(`ALTER TABLE ${table(this.schema, name)}
        DROP CONSTRAINT IF EXISTS ${name}_pkey, ADD CONSTRAINT ${name}_pkey PRIMARY KEY (id)`);
    }
  }
}

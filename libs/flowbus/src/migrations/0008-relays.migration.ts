import type { QueryRunner } from 'typeorm';
import { table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/**
 * The log relays that read each subscriber (issue 12, several instances): `flowbus_relay` has a
 * row per (subscriber, relay), refreshed every quarter lease, alive until a lease after its last
 * refresh (database time: the apps' clocks may differ). A relay takes at most its share of a
 * subscriber's cursors, 16 divided by the relays alive, so a relay that starts gets partitions
 * from the ones already running instead of waiting for a crash. Expired rows are deleted by the
 * others; a relay that stops deletes its own.
 */
export class Relays0008Migration extends FlowbusMigration {
  readonly id = 8;
  readonly name = 'FlowbusRelays1763769600008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ${table(this.schema, 'flowbus_relay')} (
        subscriber text NOT NULL,
        owner text NOT NULL,
        alive_until timestamptz NOT NULL,
        PRIMARY KEY (subscriber, owner)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${table(this.schema, 'flowbus_relay')}`);
  }
}

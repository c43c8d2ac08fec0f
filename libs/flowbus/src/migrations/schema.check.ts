import type { DataSource } from 'typeorm';
import { poolOf } from '../database/pg-pool.js';
import { MigrationsPendingError } from '../errors/migrations-pending.error.js';
import { MissingPrivilegesError } from '../errors/missing-privileges.error.js';
import { LOG_GENERATIONS } from '../outbox/log.queries.js';
import type { Query } from '../outbox/outbox.queries.js';
import { migrationStatus, typeormMigrationsTable, type RunQuery } from './migration-status.js';
import { missingPrivileges, type PrivilegeOn } from './migrations.queries.js';

/**
 * The privileges the role an app runs as needs on each Flowbus table (besides USAGE on the
 * schema). The README's "Grants" section lists the same. Sequences need nothing: the `seq`
 * columns are identity columns.
 */
export const REQUIRED_PRIVILEGES: Readonly<Record<string, readonly string[]>> = {
  flowbus_outbox: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  flowbus_dead_letter: ['SELECT', 'INSERT', 'DELETE'],
  flowbus_inbox: ['SELECT', 'INSERT', 'DELETE'],
  flowbus_saga: ['SELECT', 'INSERT', 'UPDATE'],
  flowbus_saga_timeout: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  flowbus_subscriber: ['SELECT', 'INSERT', 'UPDATE'],
  flowbus_received: ['SELECT', 'INSERT', 'DELETE'],
  flowbus_migrations: ['SELECT'],
};

/**
 * What the log storage (`relay.storage: 'log'`) needs on top of REQUIRED_PRIVILEGES: its tables,
 * the relays reading each subscriber (`flowbus_relay`: their heartbeats, which set each relay's
 * share of the cursors), the generations (read by writers; switched and emptied by the retention
 * sweep, hence TRUNCATE on each generation's partition), the log's sequence (read by `flowbus_tick()`) and its
 * functions (EXECUTE, granted to PUBLIC by default). Checked only when the app uses the log.
 */
export const REQUIRED_LOG_PRIVILEGES: readonly PrivilegeOn[] = [
  ...['SELECT', 'INSERT', 'DELETE'].flatMap((privilege) =>
    ['flowbus_log', 'flowbus_tick'].map((table) => ({ table, privilege })),
  ),
  ...['SELECT', 'INSERT', 'UPDATE'].map((privilege) => ({ table: 'flowbus_cursor', privilege })),
  ...['SELECT', 'UPDATE'].map((privilege) => ({ table: 'flowbus_log_gen', privilege })),
  ...['SELECT', 'INSERT', 'UPDATE', 'DELETE'].map((privilege) => ({ table: 'flowbus_relay', privilege })),
  ...Array.from({ length: LOG_GENERATIONS }, (_, g) => ({ table: `flowbus_log_g${g}`, privilege: 'TRUNCATE' })),
  { table: 'flowbus_log_seq', privilege: 'SELECT', kind: 'sequence' },
  { table: 'flowbus_tick', privilege: 'EXECUTE', kind: 'function' },
  { table: 'flowbus_log_page', privilege: 'EXECUTE', kind: 'function' },
  { table: 'flowbus_log_rotate', privilege: 'EXECUTE', kind: 'function' },
  { table: 'flowbus_log_gen_read', privilege: 'EXECUTE', kind: 'function' },
];

/**
 * Fails bootstrap, before anything touches the tables, when the schema lacks migrations this
 * version needs (`MigrationsPendingError`) or the role lacks a privilege (`MissingPrivilegesError`),
 * instead of starting and failing every request and every relay round later.
 */
export async function checkSchema(dataSource: DataSource, schema: string, storage: 'table' | 'log'): Promise<void> {
  const pool = poolOf(dataSource);
  const run: RunQuery = async <T>(q: Query) => (await pool.query(q.text, q.values)).rows as T[];
  const status = await migrationStatus(run, schema, typeormMigrationsTable(dataSource));
  if (status.pending.length > 0) {
    throw new MigrationsPendingError(
      schema,
      status.pending.map((m) => ({ id: m.id, name: m.name })),
    );
  }
  const required: PrivilegeOn[] = Object.entries(REQUIRED_PRIVILEGES).flatMap(([table, privileges]) =>
    privileges.map((privilege) => ({ table, privilege })),
  );
  if (storage === 'log') required.push(...REQUIRED_LOG_PRIVILEGES);
  const missing = await run<PrivilegeOn>(missingPrivileges(schema, required));
  if (missing.length > 0) {
    throw new MissingPrivilegesError(
      status.role,
      missing.map((m) => ({ schema, table: m.table, privilege: m.privilege, ...(m.kind ? { kind: m.kind } : {}) })),
    );
  }
}

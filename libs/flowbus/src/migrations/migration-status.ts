import type { DataSource } from 'typeorm';
import { MissingPrivilegesError } from '../errors/missing-privileges.error.js';
import type { Query } from '../outbox/outbox.queries.js';
import type { FlowbusMigration } from './flowbus-migration.js';
import { migrationInstances, typeormMigrationName } from './flowbus-migrations.js';
import {
  appliedMigrations,
  schemaAccess,
  typeormMigrationNames,
  typeormMigrationsTableReadable,
} from './migrations.queries.js';

/** Runs one statement and returns its rows: on a pool, a query runner, whatever holds the session. */
export type RunQuery = <T>(q: Query) => Promise<T[]>;

/** A migration of this version, applied or not. */
export interface MigrationEntry {
  readonly id: number;
  readonly name: string;
}

/** What is applied in a schema (and how) and what is pending, oldest first. */
export interface MigrationStatus {
  readonly schema: string;
  /** The database role that looked. */
  readonly role: string;
  readonly applied: readonly (MigrationEntry & {
    /** null when applied through TypeORM's runner, which does not record it. */
    readonly appliedAt: Date | null;
    readonly by: 'flowbus' | 'typeorm';
  })[];
  readonly pending: readonly FlowbusMigration[];
}

/**
 * Reads which Flowbus migrations are applied in `schema`: those recorded in `flowbus_migrations`
 * (the built-in runner and `flowbus-migrate`) and those TypeORM's runner recorded when the app
 * runs `flowbusMigrations()` itself (in the DataSource's `migrationsTableName`). Read-only: no
 * lock, no DDL. Throws `MissingPrivilegesError` when the role may not look.
 */
export async function migrationStatus(
  run: RunQuery,
  schema: string,
  typeorm: { table: string; schema: string | undefined } = { table: 'migrations', schema: undefined },
): Promise<MigrationStatus> {
  const all = migrationInstances(schema);
  const [access] = await run<{ role: string; exists: boolean; usage: boolean; tables: string[]; readable: string[] }>(
    schemaAccess(schema, ['flowbus_migrations']),
  );
  const { role } = access!;
  if (!access!.exists) return { schema, role, applied: [], pending: all };
  if (!access!.usage) throw new MissingPrivilegesError(role, [{ schema, table: null, privilege: 'USAGE' }]);
  const applied = new Map<number, MigrationStatus['applied'][number]>();
  if (access!.tables.includes('flowbus_migrations')) {
    if (!access!.readable.includes('flowbus_migrations')) {
      throw new MissingPrivilegesError(role, [{ schema, table: 'flowbus_migrations', privilege: 'SELECT' }]);
    }
    for (const row of await run<{ id: number; name: string; applied_at: Date }>(appliedMigrations(schema))) {
      applied.set(row.id, { id: row.id, name: row.name, appliedAt: row.applied_at, by: 'flowbus' });
    }
  }
  if (applied.size < all.length && (await typeormTableExists(run, typeorm))) {
    const byName = new Map(all.map((m) => [typeormMigrationName(m, schema), m]));
    const rows = await run<{ name: string }>(typeormMigrationNames(typeorm.table, typeorm.schema, [...byName.keys()]));
    for (const { name } of rows) {
      const m = byName.get(name)!;
      if (!applied.has(m.id)) applied.set(m.id, { id: m.id, name: m.name, appliedAt: null, by: 'typeorm' });
    }
  }
  return {
    schema,
    role,
    applied: [...applied.values()].sort((a, b) => a.id - b.id),
    pending: all.filter((m) => !applied.has(m.id)),
  };
}

async function typeormTableExists(run: RunQuery, typeorm: { table: string; schema: string | undefined }) {
  const [row] = await run<{ readable: boolean }>(typeormMigrationsTableReadable(typeorm.table, typeorm.schema));
  return row?.readable === true;
}

/** Where the DataSource's own (TypeORM) runner records migrations. */
export function typeormMigrationsTable(dataSource: DataSource): { table: string; schema: string | undefined } {
  const options = dataSource.options as { migrationsTableName?: string; schema?: string };
  return { table: options.migrationsTableName ?? 'migrations', schema: options.schema };
}

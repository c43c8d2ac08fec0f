import { Logger } from '@nestjs/common';
import type { DataSource, QueryRunner } from 'typeorm';
import { poolOf } from '../database/pg-pool.js';
import type { Query } from '../outbox/outbox.queries.js';
import type { FlowbusMigration } from './flowbus-migration.js';
import { migrationInstances } from './flowbus-migrations.js';
import { migrationStatus, typeormMigrationsTable, type RunQuery } from './migration-status.js';
import {
  appliedMigrations,
  createMigrationsTable,
  createSchema,
  lockMigrations,
  recordMigration,
} from './migrations.queries.js';

const logger = new Logger('Flowbus:Migrations');

/**
 * Applies pending Flowbus migrations in one transaction under an advisory lock, so app instances
 * starting together do not race; a failed migration rolls back whole. Returns the ids applied.
 * When nothing is pending it changes nothing (no lock, no DDL), so a role without CREATE
 * privileges starts on a schema someone else migrated.
 */
export async function runMigrations(
  dataSource: DataSource,
  schema: string,
  options: { log?: boolean } = {},
): Promise<number[]> {
  const pool = poolOf(dataSource);
  const onPool: RunQuery = async <T>(q: Query) => (await pool.query(q.text, q.values)).rows as T[];
  const before = await migrationStatus(onPool, schema, typeormMigrationsTable(dataSource));
  if (before.pending.length === 0) return [];
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    const run = (q: Query) => runner.query(q.text, q.values) as Promise<unknown>;
    for (const q of preamble(schema)) await run(q);
    // Under the lock: another instance may have applied them meanwhile.
    const done = new Set(((await run(appliedMigrations(schema))) as { id: number }[]).map((r) => r.id));
    const applied: number[] = [];
    for (const migration of before.pending) {
      if (done.has(migration.id)) continue;
      await migration.up(runner);
      await run(recordMigration(schema, migration));
      applied.push(migration.id);
    }
    await runner.commitTransaction();
    if (applied.length > 0 && options.log !== false) {
      logger.log(`Applied migration(s) ${applied.join(', ')} in schema "${schema}"`);
    }
    return applied;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  } finally {
    await runner.release();
  }
}

/** The statements `runMigrations` runs before the migrations themselves. */
function preamble(schema: string): Query[] {
  return [lockMigrations(schema), createSchema(schema), createMigrationsTable(schema)];
}

/**
 * The SQL `runMigrations` would run to apply `migrations` (all of them by default), as one
 * script for a DBA to review or run with psql: in a transaction, under the same lock, each
 * migration followed by its record in `flowbus_migrations`.
 */
export async function migrationScript(
  schema: string,
  migrations: readonly FlowbusMigration[] = migrationInstances(schema),
): Promise<string> {
  const out = ['BEGIN;', ...preamble(schema).map((q) => `${q.text};`)];
  for (const migration of migrations) {
    const statements: string[] = [];
    await migration.up(recorder(statements));
    out.push('', `-- ${migration.id} ${migration.name}`, ...statements.map((s) => `${s};`));
    out.push(`${recordMigration(schema, migration).text};`);
  }
  out.push('', 'COMMIT;');
  return `${out.join('\n')}\n`;
}

/** A QueryRunner that records what a migration would run (migrations only call `query`). */
function recorder(statements: string[]): QueryRunner {
  const record = (text: string, parameters?: unknown[]) => {
    if (parameters?.length) throw new Error('A migration statement with parameters cannot be printed as SQL');
    statements.push(dedent(text));
    return Promise.resolve([]);
  };
  return { query: record } as unknown as QueryRunner;
}

function dedent(text: string): string {
  const lines = text
    .replace(/^\s*\n/, '')
    .replace(/\s+$/, '')
    .split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { quoteSchema, table } from '../database/sql-identifiers.js';
import { migrationInstances } from './flowbus-migrations.js';

const logger = new Logger('Flowbus:Migrations');

/**
 * Applies pending Flowbus migrations in one transaction under an advisory lock, so app instances
 * starting together do not race; a failed migration rolls back whole. Returns the ids applied.
 */
export async function runMigrations(dataSource: DataSource, schema: string): Promise<number[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    await runner.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`flowbus:migrations:${schema}`]);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS ${quoteSchema(schema)}`);
    await runner.query(`
      CREATE TABLE IF NOT EXISTS ${table(schema, 'flowbus_migrations')} (
        id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows: { id: number }[] = await runner.query(`SELECT id FROM ${table(schema, 'flowbus_migrations')}`);
    const done = new Set(rows.map((r) => r.id));
    const applied: number[] = [];
    for (const migration of migrationInstances(schema)) {
      if (done.has(migration.id)) continue;
      await migration.up(runner);
      await runner.query(`INSERT INTO ${table(schema, 'flowbus_migrations')} (id, name) VALUES ($1, $2)`, [
        migration.id,
        migration.name,
      ]);
      applied.push(migration.id);
    }
    await runner.commitTransaction();
    if (applied.length > 0) logger.log(`Applied migration(s) ${applied.join(', ')} in schema "${schema}"`);
    return applied;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  } finally {
    await runner.release();
  }
}

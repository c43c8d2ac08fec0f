#!/usr/bin/env node
/**
 * `flowbus-migrate`: applies Flowbus's migrations for people who run migrations themselves (then
 * set `migrationsRun: false`). Usage: `DATABASE_URL=postgres://… flowbus-migrate [--schema name]`.
 */
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { runMigrations } from '../migrations/migration.runner.js';
import { resolveOptions } from '../options/resolve-options.js';

async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf('--schema');
  const schema = at >= 0 ? argv[at + 1] : process.env.FLOWBUS_SCHEMA;
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('flowbus-migrate: set DATABASE_URL to the PostgreSQL database to migrate\n');
    return 2;
  }
  Logger.overrideLogger(false); // this command prints its own one-line result
  const options = resolveOptions({ schema });
  const dataSource = await new DataSource({ type: 'postgres', url }).initialize();
  try {
    const applied = await runMigrations(dataSource, options.schema);
    process.stdout.write(
      applied.length > 0
        ? `flowbus-migrate: applied ${applied.join(', ')} in schema "${options.schema}"\n`
        : `flowbus-migrate: schema "${options.schema}" is up to date\n`,
    );
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`flowbus-migrate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

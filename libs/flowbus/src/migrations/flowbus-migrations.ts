import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Init0001Migration } from './0001-init.migration.js';
import { Sagas0002Migration } from './0002-sagas.migration.js';
import { Subscribers0003Migration } from './0003-subscribers.migration.js';
import { Log0004Migration } from './0004-log.migration.js';
import { Received0005Migration } from './0005-received.migration.js';
import { DeliveryKeys0006Migration } from './0006-delivery-keys.migration.js';
import { LogGenerations0007Migration } from './0007-log-generations.migration.js';
import { Relays0008Migration } from './0008-relays.migration.js';
import { CursorProgress0009Migration } from './0009-cursor-progress.migration.js';
import type { FlowbusMigration } from './flowbus-migration.js';

type MigrationClass = new (schema?: string) => FlowbusMigration;

/** Every Flowbus migration, oldest first. Append only. */
const ALL: readonly MigrationClass[] = [
  Init0001Migration,
  Sagas0002Migration,
  Subscribers0003Migration,
  Log0004Migration,
  Received0005Migration,
  DeliveryKeys0006Migration,
  LogGenerations0007Migration,
  Relays0008Migration,
  CursorProgress0009Migration,
];

/** Instances bound to a schema, for the built-in runner and the CLI. */
export function migrationInstances(schema: string): FlowbusMigration[] {
  return ALL.map((M) => new M(schema));
}

/**
 * Flowbus's migrations as classes for your TypeORM `DataSource({ migrations })`, when you run
 * migrations yourself (then set `migrationsRun: false`). TypeORM instantiates them without
 * arguments, so each class returned here is bound to `schema`.
 *
 * @example
 * new DataSource({ ..., migrations: [...appMigrations, ...flowbusMigrations()] })
 */
export function flowbusMigrations(options: { schema?: string } = {}): (new () => MigrationInterface)[] {
  const schema = options.schema ?? 'public';
  return ALL.map((M) => {
    const migration = new M(schema);
    const name = typeormMigrationName(migration, schema);
    return class implements MigrationInterface {
      readonly name = name;
      up(queryRunner: QueryRunner) {
        return migration.up(queryRunner);
      }
      down(queryRunner: QueryRunner) {
        return migration.down(queryRunner);
      }
    };
  });
}

/** The name TypeORM's runner records for `migration` of `schema` (see flowbusMigrations). */
export function typeormMigrationName(migration: FlowbusMigration, schema: string): string {
  // TypeORM keys applied migrations by name and needs the timestamp at its end.
  return schema === 'public' ? migration.name : migration.name.replace(/(\d{13})$/, `_${schema}_$1`);
}

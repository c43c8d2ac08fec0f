import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { runMigrations } from './migration.runner.js';
import { checkSchema } from './schema.check.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { ownedDataSources } from '../database/data-source.provider.js';

/**
 * Before anything touches the tables: applies pending migrations (`migrationsRun`), then checks
 * that none is pending and that the role has the privileges Flowbus needs, failing bootstrap with
 * an error that says what is missing. Closes a DataSource Flowbus opened.
 */
@Injectable()
export class SchemaInitializer implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.options.migrationsRun) await runMigrations(this.dataSource, this.options.schema);
    await checkSchema(this.dataSource, this.options.schema, this.options.relay.storage);
  }

  async onApplicationShutdown(): Promise<void> {
    if (ownedDataSources.has(this.dataSource) && this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

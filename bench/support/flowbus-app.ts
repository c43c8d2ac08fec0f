import { Module, type INestApplicationContext, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FlowbusModule, type FlowbusOptions } from 'nestjs-flowbus';
import { DataSource } from 'typeorm';

/** A Nest application context running Flowbus on its own DataSource. */
export interface FlowbusApp {
  readonly app: INestApplicationContext;
  readonly dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * Starts a Nest application context with `FlowbusModule.forRoot(options)` on a DataSource of its
 * own (pool size `poolSize`, the `pg` default of 10 unless given), as one app instance of a
 * deployment would have. Only Nest's warnings and errors are printed.
 */
export async function startFlowbusApp(p: {
  databaseUrl: string;
  options: Omit<FlowbusOptions, 'dataSource'>;
  providers?: Provider[];
  poolSize?: number;
}): Promise<FlowbusApp> {
  const dataSource = await new DataSource({
    type: 'postgres',
    url: p.databaseUrl,
    ...(p.poolSize ? { extra: { max: p.poolSize } } : {}),
  }).initialize();

  // FLOWBUS_BENCH_STORAGE=log|table picks `relay.storage` for every app of a run (default: the library's).
  const storage = process.env.FLOWBUS_BENCH_STORAGE as 'log' | 'table' | undefined;
  const options = storage ? { ...p.options, relay: { ...p.options.relay, storage } } : p.options;

  @Module({ imports: [FlowbusModule.forRoot({ ...options, dataSource })], providers: p.providers ?? [] })
  class BenchAppModule {}

  const app = await NestFactory.createApplicationContext(BenchAppModule, { logger: ['error', 'warn'] });
  await app.init();
  return {
    app,
    dataSource,
    close: async () => {
      await app.close();
      await dataSource.destroy();
    },
  };
}

/** The database the driver (bench/run.mjs) provides, or DATABASE_URL. */
export function benchDatabaseUrl(): string {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('No database: run through `npm run bench` (embedded PostgreSQL) or set DATABASE_URL');
  return url;
}

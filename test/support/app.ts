import type { INestApplication, ModuleMetadata, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FlowbusModule, type FlowbusOptions } from 'nestjs-flowbus';
import type { DataSource } from 'typeorm';

export interface FlowbusAppOptions {
  dataSource: DataSource;
  options?: Omit<FlowbusOptions, 'dataSource'>;
  providers?: Provider[];
  imports?: ModuleMetadata['imports'];
  controllers?: ModuleMetadata['controllers'];
}

/** Builds and initialises a Nest app with Flowbus on the given DataSource. Close it with `app.close()`. */
export async function createFlowbusApp(setup: FlowbusAppOptions): Promise<INestApplication> {
  // FLOWBUS_TEST_STORAGE=log runs a spec on the log storage (`relay.storage`) unless it chose one.
  const storage = process.env.FLOWBUS_TEST_STORAGE as 'log' | 'table' | undefined;
  const options =
    storage && setup.options?.relay?.storage === undefined
      ? { ...setup.options, relay: { ...setup.options?.relay, storage } }
      : setup.options;
  const moduleRef = await Test.createTestingModule({
    imports: [FlowbusModule.forRoot({ dataSource: setup.dataSource, ...options }), ...(setup.imports ?? [])],
    providers: setup.providers ?? [],
    controllers: setup.controllers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: process.env.FLOWBUS_TEST_LOGS ? undefined : false });
  await app.init();
  return app;
}

/** A promise with its resolve function, to hold handlers until a test lets them go. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Where the specs find what was written for delivery: `flowbus_outbox` (one row per delivery) on
 * the table storage, `flowbus_log` (one row per message, `destination` null for `local`) on the
 * log storage (FLOWBUS_TEST_STORAGE=log).
 */
export const writtenRows =
  process.env.FLOWBUS_TEST_STORAGE === 'log'
    ? { table: 'flowbus_log', local: 'destination IS NULL' }
    : { table: 'flowbus_outbox', local: `destination = 'local'` };

import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventBus, FlowbusModule, HandleEvent } from 'nestjs-flowbus';
import { DataSource } from 'typeorm';
import { BenchEvent, decorateHandle, handlerClasses, otherEventClasses } from '../workload.js';
import type { Contender, Setup } from './contender.interface.js';

/**
 * Flowbus `await bus.publish(event)` in a real Nest application context on PostgreSQL (the module
 * runs its migrations at start; the bus itself never touches the database). `isolation: 'full'`
 * also sets `handlerTimeoutMs`, so every publish with an async handler is watched by a timeout.
 */
export async function flowbus(setup: Setup, isolation: 'full' | 'default'): Promise<Contender> {
  if (!setup.databaseUrl)
    throw new Error('The Flowbus contender needs PostgreSQL: run it through bench/run.mjs, or set DATABASE_URL');
  const others = otherEventClasses(setup.unrelated);
  const providers = [
    ...handlerClasses(setup.handlers, setup.kind, 'BenchHandler').map((cls) => {
      decorateHandle(cls, HandleEvent(BenchEvent));
      return cls;
    }),
    ...handlerClasses(setup.unrelated, 'sync', 'OtherHandler').map((cls, i) => {
      decorateHandle(cls, HandleEvent(others[i]!));
      return cls;
    }),
  ];
  for (const cls of providers) Injectable()(cls);

  const dataSource = await new DataSource({ type: 'postgres', url: setup.databaseUrl, extra: { max: 2 } }).initialize();
  const bus = isolation === 'full' ? { handlerTimeoutMs: 30_000 } : {};

  @Module({ imports: [FlowbusModule.forRoot({ dataSource, bus, relay: { enabled: false } })], providers })
  class BenchModule {}

  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  await app.init();
  const eventBus = app.get(EventBus);
  return {
    awaitable: true,
    publish: (event: BenchEvent) => eventBus.publish(event),
    close: async () => {
      await app.close();
      await dataSource.destroy();
    },
  };
}

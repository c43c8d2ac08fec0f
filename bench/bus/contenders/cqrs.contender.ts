import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule, EventBus, EventsHandler } from '@nestjs/cqrs';
import { BenchEvent, handlerClasses, otherEventClasses } from '../workload.js';
import type { Contender, Setup } from './contender.interface.js';

/**
 * `@nestjs/cqrs` `EventBus.publish` in a real Nest application context, one `@EventsHandler`
 * class per handler. `publish` returns before the handlers are done, so it is timed by the
 * completion count in the handlers.
 */
export async function cqrs(setup: Setup): Promise<Contender> {
  const others = otherEventClasses(setup.unrelated);
  const providers = [
    ...handlerClasses(setup.handlers, setup.kind, 'BenchHandler').map((cls) => {
      EventsHandler(BenchEvent)(cls);
      return cls;
    }),
    ...handlerClasses(setup.unrelated, 'sync', 'OtherHandler').map((cls, i) => {
      EventsHandler(others[i]!)(cls);
      return cls;
    }),
  ];

  @Module({ imports: [CqrsModule.forRoot()], providers })
  class BenchModule {}

  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  await app.init();
  const bus = app.get(EventBus);
  return {
    awaitable: false,
    publish: (event: BenchEvent) => bus.publish(event),
    close: () => app.close(),
  };
}

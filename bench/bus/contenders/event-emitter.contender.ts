import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { decorateHandle, handlerClasses, type BenchEvent } from '../workload.js';
import type { Contender, Setup } from './contender.interface.js';

/**
 * `@nestjs/event-emitter` in a real Nest application context, handlers declared with `@OnEvent`.
 * `emitAsync` is awaited (it resolves once every listener settled); `emit` is not awaitable, so
 * it is timed by the completion count in the handlers.
 */
export async function eventEmitter(setup: Setup, mode: 'emit' | 'emitAsync'): Promise<Contender> {
  const providers = [
    ...handlerClasses(setup.handlers, setup.kind, 'BenchHandler').map((cls) => {
      decorateHandle(cls, OnEvent('BenchEvent'));
      return cls;
    }),
    ...handlerClasses(setup.unrelated, 'sync', 'OtherHandler').map((cls, i) => {
      decorateHandle(cls, OnEvent(`OtherEvent${i}`));
      return cls;
    }),
  ];
  for (const cls of providers) Injectable()(cls);

  @Module({ imports: [EventEmitterModule.forRoot()], providers })
  class BenchModule {}

  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  await app.init();
  const emitter = app.get(EventEmitter2);
  if (mode === 'emitAsync') {
    return {
      awaitable: true,
      publish: (event: BenchEvent) => emitter.emitAsync('BenchEvent', event),
      close: () => app.close(),
    };
  }
  return {
    awaitable: false,
    publish: (event: BenchEvent) => emitter.emit('BenchEvent', event),
    close: () => app.close(),
  };
}

import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HANDLE_EVENT_METADATA } from '../constants.js';
import { DecoratedMethods } from '../discovery/decorated-methods.js';
import type { HandleEventMetadata } from './handle-event.decorator.js';
import { eventTypeOf } from './event-type.js';
import { HandlerRegistry } from './handler-registry.js';
import { DurableHandlerRegistry } from './durable-handler-registry.js';

/** Finds `@HandleEvent` methods once, at module init, and registers them. */
@Injectable()
export class HandlerExplorer implements OnModuleInit {
  private readonly logger = new Logger('Flowbus:Handlers');

  constructor(
    private readonly methods: DecoratedMethods,
    private readonly registry: HandlerRegistry,
    private readonly durable: DurableHandlerRegistry,
  ) {}

  onModuleInit(): void {
    let count = 0;
    for (const m of this.methods.find<HandleEventMetadata[]>(HANDLE_EVENT_METADATA)) {
      const fn = (m.instance as Record<string, (...args: unknown[]) => unknown>)[m.methodName]!.bind(m.instance);
      const name = `${m.className}.${m.methodName}`;
      for (const declaration of m.metadata) {
        const eventType = eventTypeOf(declaration.event);
        if (declaration.durable)
          this.durable.add(eventType, { subscriber: name, eventClass: declaration.event, invoke: fn });
        else this.registry.add(eventType, { name, invoke: fn });
        count++;
      }
    }
    this.logger.log(`Registered ${count} event handler(s)`);
  }
}

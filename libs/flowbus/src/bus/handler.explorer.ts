import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { FLOWBUS_RESOLVED_OPTIONS, HANDLE_EVENT_METADATA } from '../constants.js';
import { DecoratedMethods } from '../discovery/decorated-methods.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { durableHandlerBatch } from './durable-handler-batch.js';
import type { HandleEventMetadata } from './handle-event.decorator.js';
import { eventTypeOf } from './event-type.js';
import { HandlerRegistry } from './handler-registry.js';
import { DurableHandlerRegistry } from './durable-handler-registry.js';

type Invoke = (event: unknown, manager: EntityManager) => unknown;

/** Letters, digits and `_ . : -`, as saga names; `saga:` is the sagas' prefix. */
const SUBSCRIBER_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/** The stable name of a durable handler: its `name` option, else `ClassName.method`. */
function subscriberName(declaration: HandleEventMetadata, method: string): string {
  const name = declaration.name;
  if (name === undefined) return method;
  if (typeof name !== 'string' || !SUBSCRIBER_NAME.test(name) || name.startsWith('saga:')) {
    throw new ConfigurationError(
      `@HandleEvent on ${method}: name must match ${String(SUBSCRIBER_NAME)} and not start with "saga:", got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * Finds `@HandleEvent` methods once, at module init, and registers them; warns about decorated
 * classes (handlers and sagas) that are not registered as providers.
 */
@Injectable()
export class HandlerExplorer implements OnModuleInit {
  private readonly logger = new Logger('Flowbus:Handlers');

  constructor(
    private readonly methods: DecoratedMethods,
    private readonly registry: HandlerRegistry,
    private readonly durable: DurableHandlerRegistry,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
  ) {}

  onModuleInit(): void {
    let count = 0;
    const owners = new Map<string, string>();
    // One per subscriber: the local destination batches deliveries by subscriber name.
    const batched = new Map<string, ReturnType<typeof durableHandlerBatch>>();
    for (const m of this.methods.find<HandleEventMetadata[]>(HANDLE_EVENT_METADATA)) {
      const fn = (m.instance as Record<string, (...args: unknown[]) => unknown>)[m.methodName]!.bind(m.instance);
      const method = `${m.className}.${m.methodName}`;
      for (const declaration of m.metadata) {
        const eventType = eventTypeOf(declaration.event);
        if (declaration.durable) {
          const subscriber = subscriberName(declaration, method);
          const owner = owners.get(subscriber);
          if (owner !== undefined && owner !== method) {
            throw new ConfigurationError(`Durable subscriber name "${subscriber}" is used by ${owner} and ${method}`);
          }
          owners.set(subscriber, method);
          if (declaration.batch !== undefined && typeof declaration.batch !== 'boolean') {
            throw new ConfigurationError(
              `@HandleEvent(${eventType}) on ${method}: batch must be a boolean, got ${JSON.stringify(declaration.batch)}`,
            );
          }
          if (declaration.batch === false) {
            this.durable.add(eventType, { subscriber, eventClass: declaration.event, invoke: fn });
          } else {
            let invokeMany = batched.get(subscriber);
            if (!invokeMany) {
              invokeMany = durableHandlerBatch(this.options.schema, subscriber, fn as Invoke);
              batched.set(subscriber, invokeMany);
            }
            this.durable.add(eventType, { subscriber, eventClass: declaration.event, invokeMany });
          }
        } else {
          for (const option of ['name', 'batch'] as const) {
            if (declaration[option] !== undefined) {
              throw new ConfigurationError(
                `@HandleEvent(${eventType}) on ${method}: ${option} is only for durable handlers ({ durable: true })`,
              );
            }
          }
          this.registry.add(eventType, { name: method, invoke: fn });
        }
        count++;
      }
    }
    this.logger.log(`Registered ${count} event handler(s)`);
    for (const c of this.methods.unregisteredDecoratedClasses()) {
      this.logger.warn(
        `${c.className} has ${c.decorator} but is not in any module's providers: it receives nothing. ` +
          `Add it to the providers of a module, or ignore this if another app registers it`,
      );
    }
  }
}

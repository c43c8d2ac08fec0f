import { Injectable } from '@nestjs/common';
import { eventTypeOfInstance } from './event-type.js';
import type { PublishResult } from './publish-result.interface.js';

/** An in-process subscriber of one event type. */
export interface BusHandler {
  /** `ClassName.methodName`, used in results and logs. */
  readonly name: string;
  readonly invoke: (event: object) => unknown;
}

/** Handlers of one event class, with the result returned when all of them succeed. */
export interface EventRoute {
  readonly eventType: string;
  readonly handlers: readonly BusHandler[];
  readonly allSucceeded: PublishResult;
}

const NO_FAILURES: readonly never[] = Object.freeze([]);

/**
 * In-process handlers by event type name, in registration order. Filled at start-up by the
 * explorers; `EventBus` reads it on every publish through a per-class route cache.
 */
@Injectable()
export class HandlerRegistry {
  private readonly byType = new Map<string, BusHandler[]>();
  private readonly routes = new Map<unknown, EventRoute>();

  add(eventType: string, handler: BusHandler): void {
    const list = this.byType.get(eventType);
    if (list) list.push(handler);
    else this.byType.set(eventType, [handler]);
    this.routes.clear();
  }

  handlersOf(eventType: string): readonly BusHandler[] {
    return this.byType.get(eventType) ?? NO_FAILURES;
  }

  /** The route of an event instance, cached by constructor so a publish does one map lookup. */
  routeOf(event: object): EventRoute {
    const route = this.routes.get(event.constructor);
    return route ?? this.buildRoute(event);
  }

  private buildRoute(event: object): EventRoute {
    const eventType = eventTypeOfInstance(event);
    const handlers = [...this.handlersOf(eventType)];
    const route: EventRoute = {
      eventType,
      handlers,
      allSucceeded: Object.freeze({
        eventType,
        handlers: handlers.length,
        succeeded: handlers.length,
        failures: NO_FAILURES,
      }),
    };
    this.routes.set(event.constructor, route);
    return route;
  }
}

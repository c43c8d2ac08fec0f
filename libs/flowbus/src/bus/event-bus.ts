import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { FlowbusTelemetry } from '../telemetry/flowbus-telemetry.js';
import type { EventInstance } from './event-type.js';
import { HandlerDeadlines } from './handler-deadlines.js';
import { HandlerRegistry, type EventRoute } from './handler-registry.js';
import { PublishJoin, recordFailure, settle, type FailurePolicy } from './publish-join.js';
import type { HandlerFailure, PublishResult } from './publish-result.interface.js';

/**
 * The in-process, at-most-once event bus. `publish` starts every handler of the event's type in
 * registration order, lets them run concurrently and resolves once all of them settled. A
 * handler that throws, rejects or times out never stops the others and never rejects `publish`
 * (unless `bus.propagateHandlerExceptions`). Nothing is persisted: for durable delivery use
 * `OutboxService.publish`.
 */
@Injectable()
export class EventBus implements OnModuleDestroy {
  private readonly subject = new Subject<object>();
  private readonly policy: FailurePolicy;

  /**
   * Every published event, before its handlers run. Errors thrown by your subscribers are
   * RxJS's to report (they are not caught by the bus).
   */
  readonly events$: Observable<object> = this.subject.asObservable();

  constructor(
    private readonly registry: HandlerRegistry,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) options: ResolvedOptions,
    private readonly telemetry: FlowbusTelemetry,
  ) {
    const timeoutMs = options.bus.handlerTimeoutMs;
    this.policy = {
      propagate: options.bus.propagateHandlerExceptions,
      log: options.bus.logHandlerExceptions,
      timeoutMs,
      deadlines: timeoutMs === undefined ? undefined : new HandlerDeadlines(timeoutMs),
      logger: new Logger('Flowbus:EventBus'),
      failed: (eventType, handler) => telemetry.metrics.handlerFailed(eventType, handler),
    };
  }

  /**
   * Publishes one event to its in-process handlers.
   * @returns how many handlers ran and which failed; rejects only for an event that is not a
   *   class instance, or with `HandlerFailuresError` when `propagateHandlerExceptions` is on.
   */
  publish(event: EventInstance): Promise<PublishResult> {
    let route;
    try {
      route = this.registry.routeOf(event);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.subject.observed) this.subject.next(event);
    if (this.telemetry.tracing) return this.telemetry.publish(route.eventType, () => this.dispatch(route, event));
    return this.dispatch(route, event);
  }

  private dispatch(route: EventRoute, event: EventInstance): Promise<PublishResult> {
    const handlers = route.handlers;
    let join: PublishJoin | undefined;
    let failures: HandlerFailure[] | undefined;
    for (let i = 0; i < handlers.length; i++) {
      try {
        const result = handlers[i]!.invoke(event);
        if (isThenable(result)) (join ??= new PublishJoin(route, this.policy)).track(i, result);
      } catch (error) {
        failures = recordFailure(this.policy, failures, route, i, error, false);
      }
    }
    if (join) return join.started(failures);
    if (!failures) return Promise.resolve(route.allSucceeded);
    return new Promise((resolve, reject) => settle(route, this.policy, failures, resolve, reject));
  }

  /**
   * Publishes several events: each is started in order (so every handler sees them in that
   * order), then all are awaited.
   */
  publishAll(events: readonly EventInstance[]): Promise<PublishResult[]> {
    return Promise.all(events.map((event) => this.publish(event)));
  }

  onModuleDestroy(): void {
    this.subject.complete();
    this.policy.deadlines?.dispose();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

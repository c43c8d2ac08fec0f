import { HANDLE_EVENT_METADATA } from '../constants.js';
import type { EventClass } from './event-type.js';

/** Options of `@HandleEvent`. */
export interface HandleEventOptions {
  /**
   * Durable handler: it is not called by `EventBus.publish` but receives the event through the
   * outbox (`OutboxService.publish`), at least once, inside a transaction with an inbox row so a
   * redelivery does not run it twice. Its second argument is that transaction's `EntityManager`.
   * @default false
   */
  durable?: boolean;
}

/** What `@HandleEvent` records on a method. */
export interface HandleEventMetadata {
  readonly event: EventClass;
  readonly durable: boolean;
}

/**
 * Marks a provider method as a handler of `event`. Handlers are found once at start-up; the
 * provider must be a singleton (default scope). Dispatch is by event type name
 * (`static eventType` or the class name): a handler of a base class does not receive subclasses.
 * A method may carry several `@HandleEvent`s.
 *
 * @example
 * @Injectable()
 * class Mailer {
 *   @HandleEvent(OrderPlaced)
 *   async sendConfirmation(event: OrderPlaced) { ... }
 * }
 */
export function HandleEvent(event: EventClass, options: HandleEventOptions = {}): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const previous: HandleEventMetadata[] = Reflect.getMetadata(HANDLE_EVENT_METADATA, descriptor.value) ?? [];
    const entry: HandleEventMetadata = { event, durable: options.durable ?? false };
    Reflect.defineMetadata(HANDLE_EVENT_METADATA, [...previous, entry], descriptor.value);
    return descriptor;
  };
}

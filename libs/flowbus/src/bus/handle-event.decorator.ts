import { HANDLE_EVENT_METADATA } from '../constants.js';
import { recordDecoratedClass } from '../discovery/decorated-classes.js';
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
  /**
   * Stable subscriber name of a durable handler, stored in its outbox and inbox rows: messages in
   * flight keep reaching the handler after its class or method is renamed. Letters, digits and
   * `_ . : -`, at most 100 characters; `saga:` is reserved for sagas. Only for durable handlers.
   * @default `ClassName.methodName`
   * @example @HandleEvent(OrderPlaced, { durable: true, name: 'billing.charge' })
   */
  name?: string;
  /**
   * Whether a durable handler may receive deliveries in batches: the relay then runs the
   * deliveries it claimed together (up to 100) in one transaction, one after the other, each in a
   * savepoint of its own (a failing one is rolled back and retried alone). A batch commits once its
   * last handler call returned, so a slow call delays its batch-mates' commit; `false` gives each
   * delivery a transaction of its own. Only for durable handlers.
   * @default true
   */
  batch?: boolean;
}

/**
 * A method decorator that only fits a method whose first parameter accepts `E`: `@HandleEvent(A)`
 * on a method taking `B` does not compile (unless `A` is structurally a `B`). Further parameters
 * are free (a durable handler's second one is its transaction's `EntityManager`).
 */
export type HandlerDecorator<E> = <M extends (event: E, ...rest: never[]) => unknown>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/** What `@HandleEvent` records on a method. */
export interface HandleEventMetadata {
  readonly event: EventClass;
  readonly durable: boolean;
  readonly name?: string;
  readonly batch?: unknown;
}

/**
 * Marks a provider method as a handler of `event`. Handlers are found once at start-up; the
 * provider must be a singleton (default scope) listed in a module's `providers` (a decorated class
 * that is not is reported at start-up). Dispatch is by event type name (`static eventType` or the
 * class name): a handler of a base class does not receive subclasses. A method may carry several
 * `@HandleEvent`s.
 *
 * @example
 * @Injectable()
 * class Mailer {
 *   @HandleEvent(OrderPlaced)
 *   async sendConfirmation(event: OrderPlaced) { ... }
 * }
 */
export function HandleEvent<E extends object>(
  event: EventClass<E>,
  options: HandleEventOptions = {},
): HandlerDecorator<E> {
  return (target, _key, descriptor) => {
    const method = descriptor.value as object;
    const previous: HandleEventMetadata[] = Reflect.getMetadata(HANDLE_EVENT_METADATA, method) ?? [];
    const entry: HandleEventMetadata = {
      event,
      durable: options.durable ?? false,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.batch === undefined ? {} : { batch: options.batch }),
    };
    Reflect.defineMetadata(HANDLE_EVENT_METADATA, [...previous, entry], method);
    recordDecoratedClass(target.constructor, '@HandleEvent');
  };
}

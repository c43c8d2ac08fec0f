import { InvalidEventError } from '../errors/invalid-event.error.js';

/** Anything with a constructor that can be published: an event class. */
export type EventClass<T extends object = object> = abstract new (...args: never[]) => T;

/**
 * Type name of an event class: its `static eventType` when it declares one (stable across
 * renames and minification), else the class name.
 */
export function eventTypeOf(eventClass: EventClass | string): string {
  if (typeof eventClass === 'string') return eventClass;
  const declared = (eventClass as { eventType?: unknown }).eventType;
  if (typeof declared === 'string' && declared.length > 0) return declared;
  return eventClass.name;
}

/**
 * An instance of a class, not the class itself: what `publish` and `scheduleTimeout` take. A class
 * has a `prototype`, so `scheduleTimeout(PaymentTimeout, 100)` does not compile.
 */
export type EventInstance = object & { readonly prototype?: never };

/**
 * Type name of a published event instance; a plain object has none and is refused, and so is a
 * class passed where an instance was meant (`publish(OrderPlaced)`).
 * @param what names the call in the error, e.g. `scheduleTimeout`
 */
export function eventTypeOfInstance(event: object, what = 'publish'): string {
  if (typeof event === 'function') {
    const name = (event as { name?: string }).name || 'the class';
    throw new InvalidEventError(`${what}(${name}) got the class itself: pass an instance (${what}(new ${name}(...)))`);
  }
  const ctor = (event as { constructor?: EventClass }).constructor;
  if (!ctor || ctor === Object) {
    throw new InvalidEventError(
      'Events must be class instances (new OrderPlaced(...)); a plain object has no event type',
    );
  }
  return eventTypeOf(ctor);
}

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

/** Type name of a published event instance; a plain object has none and is refused. */
export function eventTypeOfInstance(event: object): string {
  const ctor = (event as { constructor?: EventClass }).constructor;
  if (!ctor || ctor === Object) {
    throw new InvalidEventError(
      'Events must be class instances (new OrderPlaced(...)); a plain object has no event type',
    );
  }
  return eventTypeOf(ctor);
}

import type { EventClass } from '../bus/event-type.js';

/**
 * How payloads are stored in outbox and timeout rows and rebuilt for durable handlers, saga steps
 * and timeout handlers, so they get the same kind of object the in-process bus hands over.
 *
 * @example
 * // superjson keeps Dates, Maps, Sets... without decorators
 * serializer: {
 *   serialize: (payload) => superjson.serialize(payload),
 *   deserialize: (type, plain) => Object.assign(Object.create(type.prototype), superjson.deserialize(plain)),
 * }
 */
export interface PayloadSerializer {
  /**
   * The JSON-compatible form of a payload (an event, a message's payload or a timeout), which is
   * then written with `JSON.stringify`.
   * @default the payload itself (`JSON.stringify` applies `toJSON`: a Date becomes an ISO string)
   */
  serialize?(payload: unknown): unknown;
  /**
   * Rebuilds a stored object payload as an instance of the class the subscriber declared
   * (`@HandleEvent(X)`, `@SagaStep(X)`, `@OnTimeout(X)`). Not called for payloads that are not
   * JSON objects (strings, numbers, arrays, null): those are handed over as they are.
   * @default class-transformer's `plainToInstance(type, plain)` when `class-transformer` is
   * installed (it honours `@Type(() => Date)`, `@Type(() => Line)`...); else the class's prototype
   * with the stored fields (Dates stay strings, nested objects stay plain)
   */
  deserialize?(type: EventClass, plain: object): object;
}

/** The event every contender publishes. A class, so Flowbus and cqrs can route it by type. */
export class BenchEvent {
  acc = 0;
  constructor(readonly id: number) {}
}

/**
 * Counts handler completions. Every handler body ends with `meter.hit()`, whatever the bus, so
 * buses that cannot be awaited (raw emit, cqrs) are timed the same way as those that can.
 */
export class Meter {
  remaining = 0;
  /** Set by the hit that brought `remaining` to zero, when `stamp` was asked for. */
  doneAt = 0n;
  private stamp = false;
  private resolve: (() => void) | undefined;

  arm(hits: number, stamp: boolean): void {
    this.remaining = hits;
    this.stamp = stamp;
  }

  /** Resolves once every armed hit arrived. */
  wait(): Promise<void> {
    if (this.remaining === 0) return Promise.resolve();
    return new Promise((resolve) => (this.resolve = resolve));
  }

  hit(): void {
    if (--this.remaining !== 0) return;
    if (this.stamp) this.doneAt = process.hrtime.bigint();
    const resolve = this.resolve;
    if (resolve) {
      this.resolve = undefined;
      resolve();
    }
  }
}

export const meter = new Meter();

/** The work of one handler: a little arithmetic on the event, then the completion count. */
export function work(event: BenchEvent): void {
  event.acc = (event.acc * 31 + event.id) | 0;
  meter.hit();
}

/** The body of a synchronous handler. */
export function syncBody(event: BenchEvent): void {
  work(event);
}

/** The body of an asynchronous handler: one microtask hop, then the work. */
export async function asyncBody(event: BenchEvent): Promise<void> {
  await null;
  work(event);
}

export type HandlerKind = 'sync' | 'async';

export function bodyOf(kind: HandlerKind): (event: BenchEvent) => void | Promise<void> {
  return kind === 'sync' ? syncBody : asyncBody;
}

/** Event classes nobody publishes, for the handlers registered for other event types. */
export function otherEventClasses(count: number): (new () => object)[] {
  return Array.from({ length: count }, (_, i) => {
    const cls = class {};
    Object.defineProperty(cls, 'name', { value: `OtherEvent${i}` });
    return cls;
  });
}

/**
 * Handler classes for the Nest-based buses, one class per handler, each with its own `handle`
 * method (decorator metadata lives on the method function, so they must not share it).
 */
export function handlerClasses(count: number, kind: HandlerKind, prefix: string): (new () => HandlerInstance)[] {
  const body = bodyOf(kind);
  return Array.from({ length: count }, (_, i) => {
    const cls = class {
      handle(event: BenchEvent) {
        return body(event);
      }
    };
    Object.defineProperty(cls, 'name', { value: `${prefix}${i}` });
    return cls;
  });
}

export interface HandlerInstance {
  handle(event: BenchEvent): void | Promise<void>;
}

/** Applies a method decorator to `handle` the way TypeScript would. */
export function decorateHandle(
  cls: new () => HandlerInstance,
  decorator: (target: object, key: string, descriptor: PropertyDescriptor) => void,
): void {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, 'handle')!;
  decorator(cls.prototype, 'handle', descriptor);
}

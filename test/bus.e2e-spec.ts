import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Injectable, Logger, Scope, type INestApplication } from '@nestjs/common';
import {
  ConfigurationError,
  EventBus,
  HandleEvent,
  HandlerFailuresError,
  HandlerTimeoutError,
  InvalidEventError,
  type FlowbusOptions,
} from 'nestjs-flowbus';
import type { DataSource } from 'typeorm';
import { createFlowbusApp, gate } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

class OrderPlaced {
  constructor(readonly orderId: string) {}
}
class Failing {
  constructor(readonly kind: 'throw' | 'reject' | 'hang' | 'ok') {}
}
class Outer {}
class Inner {}
class Unhandled {}
class BaseEvent {
  constructor(readonly n: number) {}
}
class DerivedEvent extends BaseEvent {}
class Renamed {
  static readonly eventType = 'billing.invoice-issued';
}

const log: string[] = [];
let hold = gate();

@Injectable()
class FirstHandlers {
  @HandleEvent(OrderPlaced)
  async first(e: OrderPlaced) {
    log.push(`first:start:${e.orderId}`);
    await hold.promise;
    log.push(`first:end:${e.orderId}`);
  }

  @HandleEvent(Failing)
  failing(e: Failing) {
    if (e.kind === 'throw') throw new Error('sync boom');
    if (e.kind === 'reject') return Promise.reject(new Error('async boom'));
    if (e.kind === 'hang') return new Promise(() => undefined);
    return undefined;
  }

  @HandleEvent(BaseEvent)
  base(e: BaseEvent) {
    log.push(`base:${e.constructor.name}:${e.n}`);
  }

  @HandleEvent(Renamed)
  renamed() {
    log.push('renamed');
  }
}

@Injectable()
class SecondHandlers {
  constructor(private readonly bus: EventBus) {}

  @HandleEvent(OrderPlaced)
  second(e: OrderPlaced) {
    log.push(`second:start:${e.orderId}`);
  }

  @HandleEvent(OrderPlaced)
  async third(e: OrderPlaced) {
    log.push(`third:start:${e.orderId}`);
    await null;
    log.push(`third:end:${e.orderId}`);
  }

  @HandleEvent(Failing)
  async survivor(e: Failing) {
    await null;
    log.push(`survivor:${e.kind}`);
  }

  @HandleEvent(Outer)
  async outer() {
    log.push('outer:start');
    const result = await this.bus.publish(new Inner());
    log.push(`outer:inner-done:${result.handlers}`);
  }

  @HandleEvent(Inner)
  async inner() {
    await new Promise((r) => setTimeout(r, 20));
    log.push('inner:end');
  }

  @HandleEvent(DerivedEvent)
  derived(e: DerivedEvent) {
    log.push(`derived:${e.n}`);
  }
}

let db: TestDatabase;
let dataSource: DataSource;
const apps: INestApplication[] = [];

async function boot(bus: FlowbusOptions['bus'] = {}) {
  const app = await createFlowbusApp({
    dataSource,
    options: { bus, relay: { enabled: false } },
    providers: [FirstHandlers, SecondHandlers],
  });
  apps.push(app);
  return app.get(EventBus);
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = await db.dataSource();
  process.on('unhandledRejection', onUnhandled);
});

afterEach(() => {
  log.length = 0;
  hold = gate();
  jest.restoreAllMocks();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  process.off('unhandledRejection', onUnhandled);
  await dataSource.destroy();
  await db.drop();
});

describe('EventBus ordering', () => {
  it('starts handlers in registration order, runs them concurrently and resolves after all settled', async () => {
    const bus = await boot();
    let resolved = false;
    const publishing = bus.publish(new OrderPlaced('o1')).then((r) => {
      resolved = true;
      return r;
    });
    // Every handler was started synchronously, in order, before any of them finished.
    expect(log).toEqual(['first:start:o1', 'second:start:o1', 'third:start:o1']);
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toContain('third:end:o1');
    expect(resolved).toBe(false); // `first` is still held
    hold.open();
    const result = await publishing;
    expect(log.at(-1)).toBe('first:end:o1');
    expect(result).toEqual({ eventType: 'OrderPlaced', handlers: 3, succeeded: 3, failures: [] });
  });

  it('delivers events published one after another in publish order to each handler', async () => {
    const bus = await boot();
    hold.open();
    await Promise.all([
      bus.publish(new OrderPlaced('a')),
      bus.publish(new OrderPlaced('b')),
      bus.publish(new OrderPlaced('c')),
    ]);
    const starts = (h: string) => log.filter((l) => l.startsWith(`${h}:start`)).map((l) => l.split(':')[2]);
    expect(starts('first')).toEqual(['a', 'b', 'c']);
    expect(starts('second')).toEqual(['a', 'b', 'c']);
    expect(starts('third')).toEqual(['a', 'b', 'c']);
  });

  it('publishAll starts the events in array order', async () => {
    const bus = await boot();
    hold.open();
    const results = await bus.publishAll([new OrderPlaced('x'), new OrderPlaced('y')]);
    expect(results.map((r) => r.succeeded)).toEqual([3, 3]);
    expect(log.filter((l) => l.startsWith('second')).map((l) => l.split(':')[2])).toEqual(['x', 'y']);
  });

  it('completes a publish awaited inside a handler before that handler completes', async () => {
    const bus = await boot();
    const result = await bus.publish(new Outer());
    expect(result.succeeded).toBe(1);
    expect(log).toEqual(['outer:start', 'inner:end', 'outer:inner-done:1']);
  });
});

describe('EventBus isolation', () => {
  it.each(['throw', 'reject'] as const)('a handler that %ss fails alone and publish resolves', async (kind) => {
    const bus = await boot();
    const result = await bus.publish(new Failing(kind));
    expect(log).toEqual([`survivor:${kind}`]);
    expect(result.handlers).toBe(2);
    expect(result.succeeded).toBe(1);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.handler).toBe('FirstHandlers.failing');
    expect((result.failures[0]!.error as Error).message).toBe(kind === 'throw' ? 'sync boom' : 'async boom');
    expect(result.failures[0]!.timedOut).toBe(false);
    // In JSON (a log line, an HTTP answer) the failure still says what went wrong.
    const message = kind === 'throw' ? 'sync boom' : 'async boom';
    expect(JSON.parse(JSON.stringify(result)).failures).toEqual([
      { handler: 'FirstHandlers.failing', timedOut: false, message, error: { name: 'Error', message } },
    ]);
    // The handler is still subscribed and the bus still works.
    const again = await bus.publish(new Failing('ok'));
    expect(again).toEqual({ eventType: 'Failing', handlers: 2, succeeded: 2, failures: [] });
  });

  it('records a handler that never settles as timed out after handlerTimeoutMs', async () => {
    const bus = await boot({ handlerTimeoutMs: 50 });
    const started = Date.now();
    const result = await bus.publish(new Failing('hang'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(log).toEqual(['survivor:hang']);
    expect(result.succeeded).toBe(1);
    expect(result.failures[0]!.timedOut).toBe(true);
    expect(result.failures[0]!.error).toBeInstanceOf(HandlerTimeoutError);
    expect(JSON.parse(JSON.stringify(result.failures[0]))).toMatchObject({
      timedOut: true,
      error: { name: 'HandlerTimeoutError', code: expect.stringMatching(/^FLOWBUS_/) },
    });
    expect(await bus.publish(new Failing('ok'))).toMatchObject({ succeeded: 2 });
  });

  it('rejects with every failure after all handlers ran when propagateHandlerExceptions is on', async () => {
    const bus = await boot({ propagateHandlerExceptions: true });
    const error = await bus.publish(new Failing('throw')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandlerFailuresError);
    expect((error as HandlerFailuresError).failures.map((f) => f.handler)).toEqual(['FirstHandlers.failing']);
    expect((error as HandlerFailuresError).message).toContain('sync boom');
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'HandlerFailuresError',
      code: 'FLOWBUS_HANDLER_FAILURES',
      message: (error as Error).message,
      eventType: 'Failing',
      failures: [
        {
          handler: 'FirstHandlers.failing',
          timedOut: false,
          message: 'sync boom',
          error: { name: 'Error', message: 'sync boom' },
        },
      ],
    });
    expect(log).toEqual(['survivor:throw']); // the async survivor finished before the rejection
    const rejected = await bus.publish(new Failing('reject')).catch((e: unknown) => e);
    expect((rejected as HandlerFailuresError).failures).toHaveLength(1);
    expect(await bus.publish(new Failing('ok'))).toMatchObject({ succeeded: 2 });
  });

  it('logs handler failures with handler and event type, unless logHandlerExceptions is off', async () => {
    const spy = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const bus = await boot();
    await bus.publish(new Failing('reject'));
    expect(spy).toHaveBeenCalledWith(
      expect.stringContaining('FirstHandlers.failing failed for event Failing: async boom'),
      expect.any(String),
    );
    spy.mockClear();
    const quiet = await boot({ logHandlerExceptions: false });
    const result = await quiet.publish(new Failing('throw'));
    expect(result.failures).toHaveLength(1);
    expect(spy).not.toHaveBeenCalled();
  });

  it('leaves no unhandled rejection behind after any failure kind', async () => {
    const bus = await boot({ handlerTimeoutMs: 20 });
    for (const kind of ['throw', 'reject', 'hang'] as const) await bus.publish(new Failing(kind));
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  });
});

describe('EventBus routing', () => {
  it('resolves with zero handlers for an event nobody handles', async () => {
    const bus = await boot();
    expect(await bus.publish(new Unhandled())).toEqual({
      eventType: 'Unhandled',
      handlers: 0,
      succeeded: 0,
      failures: [],
    });
  });

  it('dispatches by exact type: a base-class handler does not receive subclasses', async () => {
    const bus = await boot();
    await bus.publish(new BaseEvent(1));
    await bus.publish(new DerivedEvent(2));
    expect(log).toEqual(['base:BaseEvent:1', 'derived:2']);
  });

  it('uses a static eventType as the type name', async () => {
    const bus = await boot();
    expect(await bus.publish(new Renamed())).toMatchObject({ eventType: 'billing.invoice-issued', succeeded: 1 });
  });

  it('rejects a plain object with InvalidEventError', async () => {
    const bus = await boot();
    await expect(bus.publish({ orderId: 'x' } as object)).rejects.toBeInstanceOf(InvalidEventError);
  });

  it('rejects a class given instead of an instance, naming it', async () => {
    const bus = await boot();
    await expect(bus.publish(Renamed as unknown as object)).rejects.toThrow(
      'publish(Renamed) got the class itself: pass an instance (publish(new Renamed(...)))',
    );
  });

  it('exposes every published event on events$', async () => {
    const bus = await boot();
    const seen: object[] = [];
    const sub = bus.events$.subscribe((e) => seen.push(e));
    const a = new Unhandled();
    const b = new Renamed();
    await bus.publish(a);
    await bus.publish(b);
    sub.unsubscribe();
    await bus.publish(new Unhandled());
    expect(seen).toEqual([a, b]);
  });
});

describe('handler discovery', () => {
  it('refuses a handler on a request-scoped provider at start-up, naming it', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @HandleEvent(OrderPlaced)
      on() {}
    }
    const failure = await createFlowbusApp({
      dataSource,
      options: { relay: { enabled: false } },
      providers: [PerRequest],
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect((failure as Error).message).toContain('PerRequest.on');
    expect((failure as Error).message).toContain('request-scoped');
  });

  it('registers a method decorated for several events once per event', async () => {
    const calls: string[] = [];
    @Injectable()
    class Multi {
      @HandleEvent(Inner)
      @HandleEvent(Unhandled)
      on(e: object) {
        calls.push(e.constructor.name);
      }
    }
    const app = await createFlowbusApp({ dataSource, options: { relay: { enabled: false } }, providers: [Multi] });
    apps.push(app);
    const bus = app.get(EventBus);
    await bus.publish(new Inner());
    await bus.publish(new Unhandled());
    expect(calls).toEqual(['Inner', 'Unhandled']);
  });
});

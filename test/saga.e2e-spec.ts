import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Injectable, Logger, Scope } from '@nestjs/common';
import {
  ConfigurationError,
  EventBus,
  OnTimeout,
  OutboxRelay,
  OutboxService,
  Saga,
  SagaService,
  SagaStep,
  SagaStepError,
  type FlowbusOptions,
  type SagaContext,
} from 'nestjs-flowbus';
import { ManualClock, waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { SagaEngine } from '../libs/flowbus/src/saga/saga.engine.js';
import { SagaRegistry } from '../libs/flowbus/src/saga/saga.registry.js';
import { createFlowbusApp, deliveredRow, redeliver } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { RecordingDestination } from './support/recording-destination.js';

class Started {
  constructor(
    readonly id: string,
    readonly n = 0,
  ) {}
}
class Incremented {
  constructor(readonly id: string) {}
}
class Finish {
  constructor(
    readonly id: string,
    readonly how: 'complete' | 'fail' | 'compensate',
  ) {}
}
class Boom {
  constructor(readonly id: string) {}
}
class Remind {
  constructor(
    readonly id: string,
    readonly note: string,
  ) {}
}
class ScheduleRemind {
  constructor(
    readonly id: string,
    readonly note: string,
    readonly delayMs: number,
  ) {}
}
class CancelRemind {
  constructor(readonly id: string) {}
}
/** A step that writes a row of the user's own through ctx.manager, then throws when `fail`. */
class Noted {
  constructor(
    readonly id: string,
    readonly note: string,
    readonly fail = false,
  ) {}
}

interface Counter {
  count: number;
  notes: string[];
}

@Saga({ name: 'counter', initialState: (): Counter => ({ count: 0, notes: [] }) })
class CounterSaga {
  @SagaStep(Started, { start: true, correlate: (e) => e.id })
  started(e: Started, ctx: SagaContext<Counter>) {
    ctx.state.count += e.n;
    if (ctx.isNew) ctx.addCompensation({ destination: 'sink', type: 'Undo', payload: { undo: 'start' } });
  }

  @SagaStep(Incremented, { correlate: (e) => e.id })
  async incremented(_e: Incremented, ctx: SagaContext<Counter>) {
    await new Promise((r) => setTimeout(r, Math.random() * 2)); // widen the race window
    ctx.state.count += 1;
    ctx.addCompensation({ destination: 'sink', type: 'Undo', payload: { undo: `inc-${ctx.state.count}` } });
  }

  @SagaStep(Finish, { correlate: (e) => e.id })
  finish(e: Finish, ctx: SagaContext<Counter>) {
    if (e.how === 'complete') ctx.complete();
    else if (e.how === 'fail') ctx.fail('gave up');
    else ctx.compensate('customer cancelled');
  }

  @SagaStep(Boom, { correlate: (e) => e.id })
  boom(e: Boom, ctx: SagaContext<Counter>) {
    ctx.state.count = 999;
    ctx.send('sink', 'ShouldNotBeSent', {});
    ctx.scheduleTimeout(new Remind(e.id, 'never'), 1000);
    throw new Error('step exploded');
  }

  @SagaStep(ScheduleRemind, { correlate: (e) => e.id })
  schedule(e: ScheduleRemind, ctx: SagaContext<Counter>) {
    ctx.scheduleTimeout(new Remind(e.id, e.note), e.delayMs);
  }

  @SagaStep(CancelRemind, { correlate: (e) => e.id })
  cancel(_e: CancelRemind, ctx: SagaContext<Counter>) {
    ctx.cancelTimeout(Remind);
  }

  @SagaStep(Noted, { correlate: (e) => e.id })
  async noted(e: Noted, ctx: SagaContext<Counter>) {
    await ctx.manager.query('INSERT INTO user_notes (saga_id, note) VALUES ($1, $2)', [e.id, e.note]);
    ctx.state.notes.push(e.note);
    if (e.fail) throw new Error(`note ${e.note} refused`);
  }

  @OnTimeout(Remind)
  reminded(t: Remind, ctx: SagaContext<Counter>) {
    if (t.note === 'explode') throw new Error('timeout handler exploded');
    ctx.state.notes.push(t.note);
    ctx.send('sink', 'Reminded', { id: t.id, note: t.note });
  }
}

let db: TestDatabase;
let ds: DataSource;
const dataSources: DataSource[] = [];
const apps = closeAppsAfterEach();

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  dataSources.push(ds);
  await ds.query('CREATE TABLE user_notes (saga_id text NOT NULL, note text NOT NULL)');
});

afterEach(async () => {
  jest.restoreAllMocks();
});

afterAll(async () => {
  for (const d of dataSources) await d.destroy();
  await db.drop();
});

async function sagaApp(options: Omit<FlowbusOptions, 'dataSource'> = {}, ownPool = false) {
  let dataSource = ds;
  if (ownPool) {
    dataSource = await db.dataSource();
    dataSources.push(dataSource);
  }
  const sink = (options.destinations?.sink as RecordingDestination | undefined) ?? new RecordingDestination();
  const app = await createFlowbusApp({
    dataSource,
    options: {
      relay: { pollIntervalMs: 50, listen: false },
      timeouts: { pollIntervalMs: 50 },
      ...options,
      destinations: { sink },
    },
    providers: [CounterSaga],
  });
  apps.push(app);
  return { app, sink, bus: app.get(EventBus), sagas: app.get(SagaService), outbox: app.get(OutboxService) };
}

const uid = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;
const count = async (sql: string, params: unknown[] = []) => Number((await ds.query(sql, params))[0].n);

describe('instances', () => {
  it('creates one instance per correlation id, even under 20 concurrent starts', async () => {
    const { bus, sagas } = await sagaApp();
    const id = uid('start');
    const results = await Promise.all(Array.from({ length: 20 }, () => bus.publish(new Started(id, 1))));
    expect(results.every((r) => r.failures.length === 0)).toBe(true);
    expect(await count('SELECT count(*) AS n FROM flowbus_saga WHERE correlation_id = $1', [id])).toBe(1);
    const saga = await sagas.find<Counter>('counter', id);
    expect(saga).toMatchObject({
      name: 'counter',
      correlationId: id,
      status: 'running',
      state: { count: 20 },
      version: 20,
    });
  });

  it('ignores and logs a non-start step for a missing instance', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { bus, sagas } = await sagaApp();
    const id = uid('missing');
    const result = await bus.publish(new Incremented(id));
    expect(result.failures).toEqual([]);
    expect(await sagas.find('counter', id)).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(`Incremented for "${id}" ignored, no such instance`));
  });

  it.each(['complete', 'fail'] as const)('ignores and logs steps after %s()', async (how) => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const { bus, sagas } = await sagaApp();
    const id = uid(how);
    await bus.publish(new Started(id, 1));
    await bus.publish(new Finish(id, how));
    await bus.publish(new Incremented(id));
    const saga = await sagas.find<Counter>('counter', id);
    expect(saga).toMatchObject({
      status: how === 'complete' ? 'completed' : 'failed',
      state: { count: 1 },
      reason: how === 'fail' ? 'gave up' : null,
    });
    expect(saga!.finishedAt).toBeInstanceOf(Date);
    expect(log).toHaveBeenCalledWith(
      expect.stringContaining(
        `Incremented for "${id}" ignored, instance is ${how === 'complete' ? 'completed' : 'failed'}`,
      ),
    );
  });

  it('lists instances through SagaService', async () => {
    const { bus, sagas } = await sagaApp();
    const id = uid('list');
    await bus.publish(new Started(id, 3));
    const listed = await sagas.list({ name: 'counter', status: 'running', limit: 500 });
    expect(listed.some((s) => s.correlationId === id && (s.state as unknown as Counter).count === 3)).toBe(true);
  });
});

describe('one transaction per step', () => {
  it('leaves state, messages and timeouts untouched when a step throws, with an error naming saga, step, event and id', async () => {
    const { bus, sagas } = await sagaApp();
    const id = uid('boom');
    await bus.publish(new Started(id, 5));
    const before = await sagas.find<Counter>('counter', id);
    const outboxBefore = await count('SELECT count(*) AS n FROM flowbus_outbox');
    const result = await bus.publish(new Boom(id));
    const error = result.failures[0]!.error as SagaStepError;
    expect(error).toBeInstanceOf(SagaStepError);
    expect(error.message).toBe(
      `Saga "counter" step CounterSaga.boom failed on Boom for correlation id "${id}": step exploded`,
    );
    expect(error).toMatchObject({
      sagaName: 'counter',
      step: 'CounterSaga.boom',
      eventType: 'Boom',
      correlationId: id,
    });
    const after = await sagas.find<Counter>('counter', id);
    expect(after!.state).toEqual(before!.state);
    expect(after!.version).toBe(before!.version);
    expect(after!.timeouts).toEqual([]);
    expect(await count('SELECT count(*) AS n FROM flowbus_outbox')).toBe(outboxBefore);
  });

  it('retries a throwing step delivered through the outbox with backoff, then dead-letters it', async () => {
    const { outbox, bus } = await sagaApp({
      relay: { pollIntervalMs: 50, listen: false, maxAttempts: 3, backoff: { initialMs: 0, jitter: 'none' } },
    });
    const id = uid('durable-boom');
    await bus.publish(new Started(id));
    const [rowId] = await outbox.transaction((m) => outbox.publish(m, new Boom(id)));
    const dead = await waitFor(
      async () => (await ds.query('SELECT * FROM flowbus_dead_letter WHERE id = $1', [rowId]))[0],
    );
    expect(dead).toMatchObject({ subscriber: 'saga:counter', attempts: 3 });
    expect(dead.last_error).toContain(`Saga "counter" step CounterSaga.boom failed on Boom for correlation id "${id}"`);
  });

  it('applies 50 concurrent steps on one instance without losing any (in-process path)', async () => {
    const { bus, sagas } = await sagaApp();
    const id = uid('race');
    await bus.publish(new Started(id));
    const results = await Promise.all(Array.from({ length: 50 }, () => bus.publish(new Incremented(id))));
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect((await sagas.find<Counter>('counter', id))!.state.count).toBe(50);
  });

  it('applies 50 concurrent steps on one instance without losing any (outbox path, concurrent deliveries)', async () => {
    const { outbox, bus, sagas } = await sagaApp({ relay: { pollIntervalMs: 50, listen: false, concurrency: 25 } });
    const id = uid('durable-race');
    await bus.publish(new Started(id));
    await outbox.transaction(async (m) => {
      for (let i = 0; i < 50; i++) await outbox.publish(m, new Incremented(id));
    });
    await waitFor(async () => (await sagas.find<Counter>('counter', id))!.state.count === 50, { timeoutMs: 20_000 });
    await apps[0]!.get(OutboxRelay).whenIdle();
    expect(
      await count(
        "SELECT count(*) AS n FROM flowbus_dead_letter WHERE subscriber = 'saga:counter' AND type = 'Incremented'",
      ),
    ).toBe(0);
  });

  it('runs a step once when its outbox message is delivered again (inbox)', async () => {
    const { outbox, bus, sagas, app } = await sagaApp();
    const id = uid('redelivery');
    await bus.publish(new Started(id));
    const [rowId] = await outbox.transaction((m) => outbox.publish(m, new Incremented(id)));
    await waitFor(async () => (await sagas.find<Counter>('counter', id))!.state.count === 1);
    await app.get(OutboxRelay).whenIdle();
    await redeliver(ds, rowId!, 'saga:counter');
    await waitFor(async () => (await deliveredRow(ds, rowId!, 'saga:counter')) !== undefined);
    expect((await sagas.find<Counter>('counter', id))!.state.count).toBe(1);
  });
});

describe('deliveries batched by the relay', () => {
  it('runs the deliveries of one claim for one saga together, each step succeeding or failing alone', async () => {
    const handleEvents = jest.spyOn(SagaEngine.prototype, 'handleEvents');
    const { outbox, bus, sagas, app } = await sagaApp({
      relay: { pollIntervalMs: 50, listen: false, maxAttempts: 1 },
    });
    const [a, b, c] = [uid('batch-a'), uid('batch-b'), uid('batch-c')];
    for (const id of [a, b, c]) await bus.publish(new Started(id));
    const versions = await Promise.all([a, b, c].map(async (id) => (await sagas.find('counter', id))!.version));
    const ids = await outbox.transaction((m) =>
      outbox.publish(m, [new Noted(a, 'a1'), new Noted(b, 'b1', true), new Noted(c, 'c1'), new Noted(a, 'a2')]),
    );
    await waitFor(
      async () => (await count('SELECT count(*) AS n FROM flowbus_dead_letter WHERE id = $1', [ids[1]])) === 1,
    );
    await app.get(OutboxRelay).whenIdle();

    expect(handleEvents.mock.calls.some(([, , deliveries]) => deliveries.length === 4)).toBe(true);
    // Two steps of one instance in one batch: applied in order, one after the other.
    expect(await sagas.find<Counter>('counter', a)).toMatchObject({
      state: { notes: ['a1', 'a2'] },
      version: versions[0]! + 2,
    });
    expect(await sagas.find<Counter>('counter', c)).toMatchObject({
      state: { notes: ['c1'] },
      version: versions[2]! + 1,
    });
    // The failed step: no state change, its own row rolled back, no inbox row, dead-lettered with its error.
    expect(await sagas.find<Counter>('counter', b)).toMatchObject({ state: { notes: [] }, version: versions[1] });
    const notes: { note: string }[] = await ds.query(
      'SELECT note FROM user_notes WHERE saga_id = ANY($1) ORDER BY note',
      [[a, b, c]],
    );
    expect(notes.map((n) => n.note)).toEqual(['a1', 'a2', 'c1']);
    const inbox: { message_id: string }[] = await ds.query(
      'SELECT message_id FROM flowbus_inbox WHERE message_id = ANY($1::uuid[])',
      [ids],
    );
    expect(new Set(inbox.map((r) => r.message_id))).toEqual(new Set([ids[0], ids[2], ids[3]]));
    // The applied ones were recorded delivered; the failed one left the outbox for the dead letters.
    for (const id of [ids[0], ids[2], ids[3]]) expect(await deliveredRow(ds, id!, 'saga:counter')).toBeDefined();
    expect(await deliveredRow(ds, ids[1]!, 'saga:counter')).toBeUndefined();
    expect(await ds.query('SELECT id FROM flowbus_outbox WHERE id = $1', [ids[1]])).toEqual([]);
    const [dead] = await ds.query('SELECT last_error FROM flowbus_dead_letter WHERE id = $1', [ids[1]]);
    expect(dead.last_error).toContain(`CounterSaga.noted failed on Noted for correlation id "${b}": note b1 refused`);
  });

  it('applies 200 steps on one instance delivered by two relays at once without losing any', async () => {
    const first = await sagaApp({ relay: { pollIntervalMs: 50, listen: false, batchSize: 20 } }, true);
    const second = await sagaApp({ relay: { pollIntervalMs: 50, listen: false, batchSize: 20 } }, true);
    const id = uid('two-relays');
    await first.bus.publish(new Started(id));
    await first.outbox.transaction((m) =>
      first.outbox.publish(
        m,
        Array.from({ length: 200 }, () => new Incremented(id)),
      ),
    );
    await waitFor(async () => (await first.sagas.find<Counter>('counter', id))!.state.count === 200, {
      timeoutMs: 30_000,
    });
    await Promise.all([first.app, second.app].map((a) => a.get(OutboxRelay).whenIdle()));
    const saga = await second.sagas.find<Counter>('counter', id);
    expect(saga).toMatchObject({ state: { count: 200 }, version: 201 });
    expect(
      await count(
        "SELECT count(*) AS n FROM flowbus_outbox WHERE type = 'Incremented' AND delivered_at IS NULL AND payload->>'id' = $1",
        [id],
      ),
    ).toBe(0);
  });
});

describe('timeouts', () => {
  it('fires a due timeout into its @OnTimeout in a step transaction', async () => {
    const clock = new ManualClock();
    const { bus, sagas, sink } = await sagaApp({ clock });
    const id = uid('timeout');
    await bus.publish(new Started(id));
    await bus.publish(new ScheduleRemind(id, 'pay now', 60_000));
    const pending = await sagas.find<Counter>('counter', id);
    expect(pending!.timeouts).toEqual([
      { type: 'Remind', dueAt: new Date(clock.now() + 60_000), payload: { id, note: 'pay now' } },
    ]);
    await new Promise((r) => setTimeout(r, 150));
    expect((await sagas.find<Counter>('counter', id))!.state.notes).toEqual([]);
    clock.advance(60_000);
    await waitFor(async () => (await sagas.find<Counter>('counter', id))!.state.notes.length === 1);
    const fired = await sagas.find<Counter>('counter', id);
    expect(fired!.state.notes).toEqual(['pay now']);
    expect(fired!.timeouts).toEqual([]);
    await waitFor(() => sink.received.some((m) => m.type === 'Reminded' && (m.payload as Remind).id === id));
  });

  it('replaces a timeout rescheduled with the same type, and drops a cancelled one', async () => {
    const clock = new ManualClock();
    const { bus, sagas } = await sagaApp({ clock });
    const a = uid('resched');
    const b = uid('cancel');
    for (const id of [a, b]) await bus.publish(new Started(id));
    await bus.publish(new ScheduleRemind(a, 'first', 1000));
    await bus.publish(new ScheduleRemind(a, 'second', 5000));
    await bus.publish(new ScheduleRemind(b, 'cancelled', 1000));
    await bus.publish(new CancelRemind(b));
    expect((await sagas.find('counter', a))!.timeouts.map((t) => t.payload)).toEqual([{ id: a, note: 'second' }]);
    expect((await sagas.find('counter', b))!.timeouts).toEqual([]);
    clock.advance(5000);
    await waitFor(async () => (await sagas.find<Counter>('counter', a))!.state.notes.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect((await sagas.find<Counter>('counter', a))!.state.notes).toEqual(['second']);
    expect((await sagas.find<Counter>('counter', b))!.state.notes).toEqual([]);
  });

  it('fires timeouts due together in one batch, a failing one staying for a retry without holding back the others', async () => {
    const clock = new ManualClock();
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { bus, sagas } = await sagaApp({ clock });
    const ids = [uid('ok-1'), uid('explode'), uid('ok-2')];
    for (const id of ids) {
      await bus.publish(new Started(id));
      await bus.publish(new ScheduleRemind(id, id.startsWith('explode') ? 'explode' : 'fine', 1000));
    }
    clock.advance(1000);
    await waitFor(async () => (await sagas.find<Counter>('counter', ids[2]!))!.state.notes.length === 1);
    expect((await sagas.find<Counter>('counter', ids[0]!))!.state.notes).toEqual(['fine']);
    await waitFor(() => error.mock.calls.some(([m]) => String(m).includes(`instance "${ids[1]}" failed, retry in`)));
    const failed = await sagas.find<Counter>('counter', ids[1]!);
    expect(failed!.state.notes).toEqual([]);
    expect(failed!.timeouts.map((t) => t.payload)).toEqual([{ id: ids[1], note: 'explode' }]);
  });

  it('fires a timeout due after the next poll on time, not at the poll after it', async () => {
    // Real clock: the timeout is scheduled 2.5 s ahead with polls every 2 s, so only the alarm set
    // after the 2 s poll (for the next due timeout) fires it before the 4 s poll.
    const { bus, sagas } = await sagaApp({ timeouts: { pollIntervalMs: 2000 } });
    const id = uid('on-time');
    await bus.publish(new Started(id));
    await bus.publish(new ScheduleRemind(id, 'on time', 2500));
    const [{ due_at: dueAt }] = await ds.query('SELECT due_at FROM flowbus_saga_timeout WHERE correlation_id = $1', [
      id,
    ]);
    await waitFor(async () => (await sagas.find<Counter>('counter', id))!.state.notes.length === 1, {
      timeoutMs: 6000,
    });
    const { updatedAt } = (await sagas.find('counter', id))!;
    expect(updatedAt.getTime() - (dueAt as Date).getTime()).toBeLessThan(800);
  });

  it('drops silently a timeout whose saga finished, and one whose token is stale', async () => {
    const clock = new ManualClock();
    const { bus, sagas } = await sagaApp({ clock, timeouts: { enabled: false } });
    const finished = uid('finished');
    const stale = uid('stale');
    for (const id of [finished, stale]) {
      await bus.publish(new Started(id));
      await bus.publish(new ScheduleRemind(id, 'x', 1000));
    }
    // The finished saga's timeouts go with it; simulate a leftover row to prove it is dropped anyway.
    await bus.publish(new Finish(finished, 'complete'));
    await ds.query(
      `INSERT INTO flowbus_saga_timeout (saga_name, correlation_id, timeout_type, token, payload, due_at) VALUES ('counter', $1, 'Remind', gen_random_uuid(), '{}', now())`,
      [finished],
    );
    // A scheduler that claimed the stale token before the reschedule must not fire it.
    const [old] = await ds.query('SELECT id, token FROM flowbus_saga_timeout WHERE correlation_id = $1', [stale]);
    await bus.publish(new ScheduleRemind(stale, 'y', 1000));
    // Internal API on purpose: the race (claimed, then rescheduled) is set up by hand.
    const sagaEngine = apps[0]!.get(SagaEngine);
    const def = apps[0]!.get(SagaRegistry).get('counter')!;
    const [leftover] = await ds.query('SELECT id, token FROM flowbus_saga_timeout WHERE correlation_id = $1', [
      finished,
    ]);
    const claimed = (row: { id: string; token: string }, correlationId: string) => ({
      ...row,
      saga_name: 'counter',
      correlation_id: correlationId,
      timeout_type: 'Remind',
      payload: {},
      due_at: new Date(),
    });
    // Neither fails nor fires; the finished saga's leftover is deleted, the rescheduled one stays.
    expect(await sagaEngine.fireTimeouts(def, [claimed(old, stale), claimed(leftover, finished)])).toEqual([
      undefined,
      undefined,
    ]);
    expect(await ds.query('SELECT 1 FROM flowbus_saga_timeout WHERE correlation_id = $1', [finished])).toEqual([]);
    expect((await sagas.find<Counter>('counter', stale))!.state.notes).toEqual([]);
    expect((await sagas.find<Counter>('counter', stale))!.timeouts.map((t) => t.payload)).toEqual([
      { id: stale, note: 'y' },
    ]);
  });

  it('fires each of 200 timeouts exactly once with two app instances', async () => {
    const clock = new ManualClock();
    const sink = new RecordingDestination();
    const one = await sagaApp({ clock, destinations: { sink } }, true);
    await sagaApp({ clock, destinations: { sink } }, true);
    const ids = Array.from({ length: 200 }, (_, i) => `pair-${i}-${uid('t')}`);
    for (const id of ids) {
      await one.bus.publish(new Started(id));
      await one.bus.publish(new ScheduleRemind(id, 'once', 1000));
    }
    clock.advance(1000);
    await waitFor(
      () => sink.received.filter((m) => m.type === 'Reminded' && ids.includes((m.payload as Remind).id)).length >= 200,
      { timeoutMs: 20_000 },
    );
    await new Promise((r) => setTimeout(r, 300));
    // Earlier tests may leave Reminded messages of their own in the outbox: count only ours.
    const mine = new Set(ids);
    const reminded = sink.received
      .filter((m) => m.type === 'Reminded' && mine.has((m.payload as Remind).id))
      .map((m) => (m.payload as Remind).id);
    expect(reminded).toHaveLength(200);
    expect(new Set(reminded)).toEqual(new Set(ids));
    const notes: { n: string }[] = await ds.query(
      `SELECT jsonb_array_length(state->'notes')::text AS n FROM flowbus_saga WHERE correlation_id = ANY($1)`,
      [ids],
    );
    expect(notes.every((r) => r.n === '1')).toBe(true);
  });
});

describe('compensation', () => {
  it('sends recorded compensations in reverse order and ends compensated with its reason', async () => {
    const { bus, sagas, sink } = await sagaApp();
    const id = uid('comp');
    await bus.publish(new Started(id));
    await bus.publish(new Incremented(id));
    await bus.publish(new Incremented(id));
    await bus.publish(new Finish(id, 'compensate'));
    const saga = await sagas.find('counter', id);
    expect(saga).toMatchObject({ status: 'compensated', reason: 'customer cancelled' });
    await waitFor(() => sink.received.filter((m) => m.key === `counter:${id}`).length === 3);
    expect(
      sink.received.filter((m) => m.key === `counter:${id}`).map((m) => (m.payload as { undo: string }).undo),
    ).toEqual(['inc-2', 'inc-1', 'start']);
  });

  it('fail() ends the saga without compensating', async () => {
    const { bus, sagas, sink, app } = await sagaApp();
    const id = uid('fail');
    await bus.publish(new Started(id));
    await bus.publish(new Finish(id, 'fail'));
    await app.get(OutboxRelay).whenIdle();
    expect((await sagas.find('counter', id))!.status).toBe('failed');
    expect(sink.received.filter((m) => m.key === `counter:${id}`)).toEqual([]);
  });
});

describe('start-up validation', () => {
  const boot = (...providers: (new (...args: never[]) => object)[]) =>
    createFlowbusApp({ dataSource: ds, options: { relay: { enabled: false } }, providers }).catch((e: unknown) => e);

  it('refuses a request-scoped saga', async () => {
    @Saga({ name: 'scoped' })
    @Injectable({ scope: Scope.REQUEST })
    class ScopedSaga {
      @SagaStep(Started, { start: true, correlate: (e) => e.id })
      on() {}
    }
    const error = await boot(ScopedSaga);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('ScopedSaga is a Flowbus saga on a request-scoped provider');
  });

  it('refuses two sagas with one name', async () => {
    @Saga({ name: 'twin' })
    class TwinA {
      @SagaStep(Started, { start: true, correlate: (e) => e.id })
      on() {}
    }
    @Saga({ name: 'twin' })
    class TwinB {
      @SagaStep(Started, { start: true, correlate: (e) => e.id })
      on() {}
    }
    expect(((await boot(TwinA, TwinB)) as Error).message).toBe('Two sagas are named "twin": TwinA and TwinB');
  });

  it('refuses two @OnTimeout for one timeout type', async () => {
    @Saga({ name: 'double-timeout' })
    class DoubleTimeout {
      @SagaStep(Started, { start: true, correlate: (e) => e.id })
      on() {}
      @OnTimeout(Remind)
      a() {}
      @OnTimeout(Remind)
      b() {}
    }
    expect(((await boot(DoubleTimeout)) as Error).message).toBe(
      'Saga DoubleTimeout has two @OnTimeout(Remind): a and b',
    );
  });

  it('refuses @SagaStep outside a @Saga and a saga without a start step', async () => {
    @Injectable()
    class NotASaga {
      @SagaStep(Started, { start: true, correlate: (e) => e.id })
      on() {}
    }
    expect(((await boot(NotASaga)) as Error).message).toContain(
      'NotASaga.on has @SagaStep but NotASaga is not decorated with @Saga',
    );
    @Saga({ name: 'no-start' })
    class NoStart {
      @SagaStep(Started, { correlate: (e) => e.id })
      on() {}
    }
    expect(((await boot(NoStart)) as Error).message).toContain('Saga NoStart has no start step');
  });
});

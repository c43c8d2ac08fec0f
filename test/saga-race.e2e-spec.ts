import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  EventBus,
  FlowbusModule,
  OnTimeout,
  Saga,
  SagaStep,
  type PublishResult,
  type SagaContext,
} from 'nestjs-flowbus';
import { ManualClock, waitFor } from 'nestjs-flowbus/testing';
import { DataSource } from 'typeorm';
import { TimeoutScheduler } from '../libs/flowbus/src/saga/timeout.scheduler.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * A saga's finishing step and its timeout falling due at the same moment, many times over: they
 * must queue on the instance, never deadlock, and leave one terminal state per instance.
 */

class RaceStarted {
  constructor(
    readonly id: string,
    readonly dueAt: number,
  ) {}
}
class RaceFinished {
  constructor(readonly id: string) {}
}
class RaceDeadline {
  constructor(readonly id: string) {}
}

interface RaceState {
  endedBy: string[];
}

@Saga({ name: 'race', initialState: (): RaceState => ({ endedBy: [] }) })
class RaceSaga {
  @SagaStep(RaceStarted, { start: true, correlate: (e) => e.id })
  started(e: RaceStarted, ctx: SagaContext<RaceState>) {
    ctx.scheduleTimeout(new RaceDeadline(e.id), { at: new Date(e.dueAt) });
  }

  @SagaStep(RaceFinished, { correlate: (e) => e.id })
  finished(_e: RaceFinished, ctx: SagaContext<RaceState>) {
    ctx.state.endedBy.push('step');
    ctx.complete();
  }

  @OnTimeout(RaceDeadline)
  deadline(_t: RaceDeadline, ctx: SagaContext<RaceState>) {
    ctx.state.endedBy.push('timeout');
    ctx.fail('deadline passed');
  }
}

/** Keeps every error the app logs (the scheduler logs a timeout whose transaction failed). */
class RecordingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

const SAGAS = 200;
let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
const logger = new RecordingLogger();
const clock = new ManualClock();

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await new DataSource({ type: 'postgres', url: db.url, extra: { max: 20 } }).initialize();
  const moduleRef = await Test.createTestingModule({
    imports: [
      FlowbusModule.forRoot({
        dataSource: ds,
        clock,
        relay: { enabled: false },
        timeouts: { pollIntervalMs: 100 },
      }),
    ],
    providers: [RaceSaga],
  }).compile();
  app = moduleRef.createNestApplication({ logger });
  await app.init();
});

afterAll(async () => {
  await app.close();
  await ds.destroy();
  await db.drop();
});

describe('a finishing step racing its timeout', () => {
  it(`${SAGAS} sagas whose finishing event and timeout fall due together: no deadlock, one end each`, async () => {
    const bus = app.get(EventBus);
    const ids = Array.from({ length: SAGAS }, (_, i) => `race-${i}`);
    const dueAt = clock.now() + 60_000;
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(ids.slice(i, i + 50).map((id) => bus.publish(new RaceStarted(id, dueAt))));
    }
    // Every timeout falls due now, and the finishing events arrive now, a few at a time (as a relay
    // delivers them), so that the timeout transactions get connections in between.
    clock.advance(60_000);
    // From both ends of the list: the scheduler fires from one end (one due time for all), so the
    // two meet on some instances early and on others late.
    const order = ids.flatMap((_, i) => (i % 2 ? [ids[ids.length - 1 - (i >> 1)]!] : [ids[i >> 1]!]));
    const results: PublishResult[] = [];
    let next = 0;
    const publisher = async () => {
      while (next < order.length) results.push(await bus.publish(new RaceFinished(order[next++]!)));
    };
    await Promise.all([app.get(TimeoutScheduler).tick(), ...Array.from({ length: 8 }, publisher)]);
    const stepErrors = results.flatMap((r) => r.failures.map((f) => String(f.error)));
    const deadlocks = [...stepErrors, ...logger.errors].filter((e) => /deadlock detected/.test(e));
    expect(deadlocks).toEqual([]);
    expect([...stepErrors, ...logger.errors]).toEqual([]);
    const rows = await waitFor(
      async () => {
        const r: { correlation_id: string; status: string; state: RaceState }[] = await ds.query(
          `SELECT correlation_id, status, state FROM flowbus_saga WHERE saga_name = 'race'`,
        );
        return r.every((s) => s.status !== 'running') ? r : undefined;
      },
      { timeoutMs: 5000, message: 'every saga ended' },
    );
    expect(rows).toHaveLength(SAGAS);
    for (const saga of rows) {
      // One end: the step completed it, or the timeout failed it — never both, never a timeout after completion.
      expect(saga.state.endedBy).toHaveLength(1);
      expect(saga.status).toBe(saga.state.endedBy[0] === 'step' ? 'completed' : 'failed');
    }
    // The race was real: some finishing steps won it.
    expect(rows.filter((r) => r.status === 'completed').length).toBeGreaterThan(0);
    const pending = await ds.query(`SELECT count(*)::int AS n FROM flowbus_saga_timeout WHERE saga_name = 'race'`);
    expect(pending[0].n).toBe(0);
  });
});

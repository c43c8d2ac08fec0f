import { describe, expect, it } from '@jest/globals';
import {
  DeliveryError,
  EventBus,
  OnTimeout,
  OutboxService,
  Saga,
  SagaService,
  SagaStep,
  TimeoutScheduler,
  type FlowbusOptions,
  type SagaContext,
} from 'nestjs-flowbus';
import { ManualClock, waitFor } from 'nestjs-flowbus/testing';
import { randomUUID } from 'node:crypto';
import { createFlowbusApp } from './support/app.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { RecordingDestination } from './support/recording-destination.js';

const MINUTE = 60_000;

class PaymentRequested {
  constructor(readonly orderId: string) {}
}
class PaymentTimeout {
  constructor(readonly orderId: string) {}
}

@Saga({ name: 'payment', initialState: () => ({ timedOut: false }) })
class PaymentSaga {
  @SagaStep(PaymentRequested, { start: true, correlate: (e: PaymentRequested) => e.orderId })
  requested(e: PaymentRequested, ctx: SagaContext<{ timedOut: boolean }>) {
    ctx.scheduleTimeout(new PaymentTimeout(e.orderId), 30 * MINUTE);
  }

  @OnTimeout(PaymentTimeout)
  timedOut(_t: PaymentTimeout, ctx: SagaContext<{ timedOut: boolean }>) {
    ctx.state.timedOut = true;
    ctx.fail('payment timed out');
  }
}

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();

/** Polls an hour apart: only the clock waking Flowbus can explain anything handled within a second. */
async function app(clock: ManualClock, options: Omit<FlowbusOptions, 'dataSource' | 'clock'> = {}) {
  const created = await createFlowbusApp({
    dataSource: testDb.ds,
    providers: [PaymentSaga],
    options: {
      clock,
      relay: { pollIntervalMs: 60 * MINUTE, listen: false },
      timeouts: { pollIntervalMs: 60 * MINUTE },
      ...options,
    },
  });
  apps.push(created);
  return created;
}

describe('ManualClock.advance', () => {
  it('fires a 30-minute saga timeout within milliseconds of advancing the clock past it', async () => {
    const clock = new ManualClock();
    const running = await app(clock);
    const sagas = running.get(SagaService);
    const id = randomUUID();
    await running.get(EventBus).publish(new PaymentRequested(id));
    expect((await sagas.find('payment', id))!.timeouts).toHaveLength(1);

    clock.advance(30 * MINUTE - 1000);
    await running.get(TimeoutScheduler).tick(); // one full round at the new time: not due yet
    expect((await sagas.find('payment', id))!.status).toBe('running');

    const advancedAt = performance.now();
    clock.advance(1000);
    await waitFor(async () => (await sagas.find('payment', id))?.status === 'failed', { timeoutMs: 5000 });
    expect(performance.now() - advancedAt).toBeLessThan(1000);
    expect((await sagas.find<{ timedOut: boolean }>('payment', id))!).toMatchObject({
      state: { timedOut: true },
      reason: 'payment timed out',
      timeouts: [],
    });
  });

  it('wakes the relay for a retry whose backoff it made due', async () => {
    const clock = new ManualClock();
    const sink = new RecordingDestination({
      circuitBreaker: false,
      backoff: { initialMs: 10 * MINUTE, jitter: 'none' },
    });
    let failures = 1;
    sink.failWith = () => (failures-- > 0 ? new DeliveryError('billing is down') : undefined);
    const running = await app(clock, { destinations: { sink } });
    const outbox = running.get(OutboxService);
    const [id] = await outbox.transaction((m) =>
      outbox.enqueue(m, { destination: 'sink', type: 'Charge', payload: {} }),
    );
    const row = async () =>
      (await testDb.ds.query('SELECT attempts, next_attempt_at FROM flowbus_outbox WHERE id = $1', [id]))[0] as {
        attempts: number;
        next_attempt_at: Date;
      };
    await waitFor(async () => (await row()).attempts === 1, { message: 'the first attempt to fail' });
    expect((await row()).next_attempt_at.getTime()).toBe(clock.now() + 10 * MINUTE);
    expect(sink.received).toEqual([]);

    const advancedAt = performance.now();
    clock.advance(10 * MINUTE);
    await waitFor(() => sink.ids().includes(id!), { timeoutMs: 5000, message: 'the retry' });
    expect(performance.now() - advancedAt).toBeLessThan(1000);
  });
});

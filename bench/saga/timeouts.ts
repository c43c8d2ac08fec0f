import { EventBus } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { percentile } from '../support/percentiles.js';
import { tell, type Message } from '../support/worker-process.js';
import { TimerArmed, TimerSaga, timerMeter, wallClockMs } from './chain.saga.js';
import { CREATORS, SAGA_SCHEMA } from './plan.js';

/** Lateness of one round, ms. */
export interface TimeoutRound extends Message {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly fired: number;
  /** Instances whose timeout was already due when its step ran (would inflate lateness); 0 expected. */
  readonly scheduledLate: number;
  readonly createSeconds: number;
}

/** Margin between the end of creation (as estimated) and the first due time. */
const LEAD_MS = 1_500;

/**
 * Child: an app with the timer saga and the timeout scheduler at its defaults (poll every
 * 1000 ms, batch 100); no relay. `timers` creates `n` instances through `bus.publish` (each start
 * step schedules one timeout), with due times spread evenly over `spreadMs` starting after the
 * creation is done, then waits until every timeout fired and reports the lateness measured in
 * the @OnTimeout handler with the real clock.
 */
export async function timeoutsChild(url: string) {
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: { schema: SAGA_SCHEMA, relay: { enabled: false } },
    providers: [TimerSaga],
  });
  const bus = flowbus.app.get(EventBus);
  const T = (name: string) => `${SAGA_SCHEMA}.${name}`;
  let createRate = 2_000; // instances/s, refined by every round

  const timers = async (n: number, spreadMs: number, tag: string): Promise<TimeoutRound> => {
    await flowbus.dataSource.query(`TRUNCATE ${T('flowbus_saga')}, ${T('flowbus_saga_timeout')}`);
    timerMeter.lateness = [];
    timerMeter.scheduledLate = 0;
    const startedAt = wallClockMs();
    const base = startedAt + (1.3 * n * 1000) / createRate + LEAD_MS;
    let next = 0;
    let failed = 0;
    const creator = async () => {
      while (next < n) {
        const i = next++;
        const result = await bus.publish(new TimerArmed(`${tag}-${i}`, base + (i * spreadMs) / n));
        failed += result.failures.length;
      }
    };
    await Promise.all(Array.from({ length: CREATORS }, creator));
    const createSeconds = (wallClockMs() - startedAt) / 1000;
    createRate = n / createSeconds;
    if (failed) throw new Error(`${failed} timer instance(s) failed to start`);
    const deadline = base + spreadMs + 60_000;
    while (timerMeter.lateness.length < n) {
      if (wallClockMs() > deadline) throw new Error(`${timerMeter.lateness.length}/${n} timeouts fired`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const l = timerMeter.lateness;
    return {
      type: 'round',
      p50: percentile(l, 0.5),
      p99: percentile(l, 0.99),
      max: percentile(l, 1),
      fired: l.length,
      scheduledLate: timerMeter.scheduledLate,
      createSeconds,
    };
  };

  tell({ type: 'ready' });
  return async (m: Message) => {
    if (m.type === 'timers') tell(await timers(m.n as number, m.spreadMs as number, m.tag as string));
    else if (m.type === 'stop') await flowbus.close();
  };
}

import type { Contender } from './contenders/contender.interface.js';
import { BURSTS, type Budget } from './plan.js';
import { BenchEvent, meter } from './workload.js';

/** What one round measured. */
export interface Round {
  /** Events per second, by burst size. */
  readonly eventsPerSec: Record<number, number>;
  /** Nanoseconds from the publish call to the last handler's `meter.hit()`. */
  readonly doneP50: number;
  readonly doneP99: number;
  /** Nanoseconds from the publish call to the caller resuming (awaited contenders only). */
  readonly resumedP50: number | undefined;
  readonly resumedP99: number | undefined;
}

const EVENTS_PER_CLOCK_CHECK = 1000;
let nextId = 0;

/** Warm-up, then `budget.rounds` rounds of every burst size and a latency pass. */
export async function measure(contender: Contender, handlers: number, budget: Budget): Promise<Round[]> {
  const warmupUntil = performance.now() + budget.warmupMs;
  while (performance.now() < warmupUntil) {
    for (const burst of BURSTS) await throughput(contender, handlers, burst, budget.warmupMs / 8);
    await latency(contender, handlers, 500);
  }
  const rounds: Round[] = [];
  for (let r = 0; r < budget.rounds; r++) {
    const eventsPerSec: Record<number, number> = {};
    for (const burst of BURSTS) eventsPerSec[burst] = await throughput(contender, handlers, burst, budget.roundMs);
    rounds.push({ eventsPerSec, ...(await latency(contender, handlers, budget.latencySamples)) });
  }
  return rounds;
}

/** Bursts of `burst` events published back-to-back then awaited, repeated for `ms`. */
async function throughput(contender: Contender, handlers: number, burst: number, ms: number): Promise<number> {
  const bursts = Math.max(1, Math.round(EVENTS_PER_CLOCK_CHECK / burst));
  let events = 0;
  const start = performance.now();
  const until = start + ms;
  do {
    if (burst === 1) await oneByOne(contender, handlers, bursts);
    else for (let b = 0; b < bursts; b++) await publishBurst(contender, handlers, burst);
    events += bursts * burst;
  } while (performance.now() < until);
  return (events * 1000) / (performance.now() - start);
}

/** Bursts of one: each publish awaited before the next, as a caller would write it. */
async function oneByOne(contender: Contender, handlers: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    meter.arm(handlers, false);
    if (contender.awaitable) {
      await contender.publish(new BenchEvent(nextId++));
      if (meter.remaining !== 0) missing();
    } else {
      contender.publish(new BenchEvent(nextId++));
      await meter.wait();
    }
  }
}

async function publishBurst(contender: Contender, handlers: number, burst: number): Promise<void> {
  meter.arm(burst * handlers, false);
  if (!contender.awaitable) {
    for (let i = 0; i < burst; i++) contender.publish(new BenchEvent(nextId++));
    await meter.wait();
    return;
  }
  const publishes = new Array<unknown>(burst);
  for (let i = 0; i < burst; i++) publishes[i] = contender.publish(new BenchEvent(nextId++));
  await Promise.all(publishes);
  if (meter.remaining !== 0) missing();
}

function missing(): never {
  throw new Error(`publish resolved with ${meter.remaining} handler run(s) missing`);
}

/** Single events, each timed from the publish call to its last handler and to the caller resuming. */
async function latency(contender: Contender, handlers: number, samples: number) {
  const done = new Float64Array(samples);
  const resumed = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    meter.arm(handlers, true);
    const event = new BenchEvent(nextId++);
    const start = process.hrtime.bigint();
    const publishing = contender.publish(event);
    if (contender.awaitable) await publishing;
    else await meter.wait();
    const end = process.hrtime.bigint();
    if (meter.remaining !== 0) missing();
    done[s] = Number(meter.doneAt - start);
    resumed[s] = Number(end - start);
  }
  done.sort();
  resumed.sort();
  const awaited = contender.awaitable;
  return {
    doneP50: percentile(done, 0.5),
    doneP99: percentile(done, 0.99),
    resumedP50: awaited ? percentile(resumed, 0.5) : undefined,
    resumedP99: awaited ? percentile(resumed, 0.99) : undefined,
  };
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

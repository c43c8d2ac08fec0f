import { Injectable } from '@nestjs/common';
import { OnTimeout, Saga, SagaStep, type SagaContext } from 'nestjs-flowbus';
import { monotonicUs } from '../support/monotonic.js';

/** First event of a chain instance; published durably by the bench. */
export class ChainStarted {
  constructor(readonly chainId: string) {}
}
export class ChainAdvanced {
  constructor(readonly chainId: string) {}
}
export class ChainFinishing {
  constructor(readonly chainId: string) {}
}

/** First step run (monotonic µs) and completed chains, so the bench knows when to look at the database. */
export const chainMeter = { firstAt: 0, completed: 0 };

/**
 * Three steps per instance, each reached through the outbox: a step publishes the next event
 * with `ctx.publish` (an outbox row committed with the step), the relay delivers it to the saga
 * engine through the inbox. State is touched at every step.
 */
@Injectable()
@Saga({ name: 'bench-chain', initialState: () => ({ steps: 0 }) })
export class ChainSaga {
  @SagaStep(ChainStarted, { start: true, correlate: (e: ChainStarted) => e.chainId })
  started(e: ChainStarted, ctx: SagaContext<{ steps: number }>) {
    if (chainMeter.firstAt === 0) chainMeter.firstAt = monotonicUs();
    ctx.state.steps++;
    ctx.publish(new ChainAdvanced(e.chainId));
  }

  @SagaStep(ChainAdvanced, { correlate: (e: ChainAdvanced) => e.chainId })
  advanced(e: ChainAdvanced, ctx: SagaContext<{ steps: number }>) {
    ctx.state.steps++;
    ctx.publish(new ChainFinishing(e.chainId));
  }

  @SagaStep(ChainFinishing, { correlate: (e: ChainFinishing) => e.chainId })
  finishing(_e: ChainFinishing, ctx: SagaContext<{ steps: number }>) {
    ctx.state.steps++;
    ctx.complete();
    chainMeter.completed++;
  }
}

/** Starts a timer instance that schedules one timeout at `dueAt` (epoch ms). */
export class TimerArmed {
  constructor(
    readonly timerId: string,
    readonly dueAt: number,
  ) {}
}
export class TimerFired {
  constructor(readonly dueAt: number) {}
}

/** Lateness of every fired timeout, in ms: real time in the handler minus the due time. */
export const timerMeter = { lateness: [] as number[], scheduledLate: 0 };

/** Wall clock with sub-millisecond resolution. */
export const wallClockMs = () => performance.timeOrigin + performance.now();

@Injectable()
@Saga({ name: 'bench-timer' })
export class TimerSaga {
  @SagaStep(TimerArmed, { start: true, correlate: (e: TimerArmed) => e.timerId })
  armed(e: TimerArmed, ctx: SagaContext) {
    if (wallClockMs() >= e.dueAt) timerMeter.scheduledLate++;
    ctx.scheduleTimeout(new TimerFired(e.dueAt), { at: new Date(e.dueAt) });
  }

  @OnTimeout(TimerFired)
  fired(t: TimerFired, ctx: SagaContext) {
    timerMeter.lateness.push(wallClockMs() - t.dueAt);
    ctx.complete();
  }
}

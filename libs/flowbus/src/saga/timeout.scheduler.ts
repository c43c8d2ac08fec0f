import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS, TIMEOUTS_TIMER } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { describeError } from '../errors/handler-failures.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { FlowbusTimers } from '../scheduling/flowbus-timers.js';
import { SagaEngine } from './saga.engine.js';
import { claimDueTimeouts, nextTimeoutDue, type TimeoutRow } from './saga.queries.js';
import { SagaRegistry } from './saga.registry.js';
import { FlowbusMetrics } from '../telemetry/flowbus-metrics.js';
import { TimeoutAlarm } from './timeout-alarm.js';

/** Timeouts of one saga fired in one transaction. */
const FIRE_BATCH = 25;
/** Transactions firing at once, which bounds the pool connections used. */
const FIRE_CONCURRENCY = 4;
/** Wait before looking again when the next due timeout is already due but was not claimable. */
const RECHECK_MS = 20;
/** A timeout whose firing failed is tried again after this long (its lease). */
const RETRY_MS = 5000;

/**
 * Fires due saga timeouts: polls on the `flowbus-timeouts` interval, and in between on an alarm
 * set for the next due timeout (looked up after each round, and moved earlier when a step
 * schedules one), so a timeout fires on time rather than up to one poll interval late. Claims
 * batches with SKIP LOCKED and a lease, and fires each saga's timeouts together, up to
 * FIRE_BATCH per transaction.
 */
@Injectable()
export class TimeoutScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flowbus:Timeouts');
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private alarm: NodeJS.Timeout | undefined;
  private alarmAt = Infinity;
  private unsubscribeClock: (() => void) | undefined;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly sagas: SagaRegistry,
    private readonly engine: SagaEngine,
    private readonly timers: FlowbusTimers,
    alarms: TimeoutAlarm,
    private readonly metrics: FlowbusMetrics,
  ) {
    alarms.onArm((dueAt) => this.armAt(dueAt.getTime()));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.timeouts.enabled || this.sagas.names().length === 0) return;
    this.stopped = false;
    await this.timers.addInterval(TIMEOUTS_TIMER, this.options.timeouts.pollIntervalMs, () => void this.tick());
    this.unsubscribeClock = this.options.clock.onJump?.(() => this.clockJumped());
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribeClock?.();
    if (this.alarm) clearTimeout(this.alarm);
    this.timers.removeInterval(TIMEOUTS_TIMER);
    await this.ticking;
  }

  /** Fires what is due now; a tick asked for while one runs is run right after it. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = this.fireDue().finally(() => {
      this.ticking = undefined;
      if (this.again) {
        this.again = false;
        void this.tick();
      }
    });
    return this.ticking;
  }

  /** A test clock moved: the alarm's delay was computed on the old time, so look again now. */
  private clockJumped(): void {
    if (this.alarm) clearTimeout(this.alarm);
    this.alarm = undefined;
    this.alarmAt = Infinity;
    void this.tick();
  }

  private armAt(dueAt: number): void {
    if (this.stopped) return;
    const delay = Math.max(0, dueAt - this.options.clock.now());
    // The poll covers anything later; keep only the earliest alarm.
    if (delay >= this.options.timeouts.pollIntervalMs || dueAt >= this.alarmAt) return;
    if (this.alarm) clearTimeout(this.alarm);
    this.alarmAt = dueAt;
    this.alarm = setTimeout(() => {
      this.alarm = undefined;
      this.alarmAt = Infinity;
      void this.tick();
    }, delay);
  }

  private async fireDue(): Promise<void> {
    const { batchSize } = this.options.timeouts;
    const pool = poolOf(this.dataSource);
    const names = this.sagas.names();
    try {
      // Until a claim comes back empty: timeouts fall due while a batch fires.
      for (;;) {
        const now = this.options.clock.now();
        const q = claimDueTimeouts(this.options.schema, {
          now: new Date(now),
          leaseUntil: new Date(now + RETRY_MS),
          limit: batchSize,
          names,
        });
        const { rows } = await pool.query<TimeoutRow>(q.text, q.values);
        if (rows.length === 0 || this.stopped) break;
        await this.fireAll(rows);
      }
      const next = nextTimeoutDue(this.options.schema, { names, now: new Date(this.options.clock.now()) });
      const [row] = (await pool.query<{ due_at: Date | null }>(next.text, next.values)).rows;
      if (row?.due_at) this.armAt(Math.max(row.due_at.getTime(), this.options.clock.now() + RECHECK_MS));
    } catch (error) {
      this.logger.error(`Could not claim due timeouts: ${describeError(error)}`);
    }
  }

  private async fireAll(rows: TimeoutRow[]): Promise<void> {
    const bySaga = new Map<string, TimeoutRow[]>();
    for (const row of rows) {
      const list = bySaga.get(row.saga_name);
      if (list) list.push(row);
      else bySaga.set(row.saga_name, [row]);
    }
    const batches: TimeoutRow[][] = [];
    for (const list of bySaga.values()) {
      for (let i = 0; i < list.length; i += FIRE_BATCH) batches.push(list.slice(i, i + FIRE_BATCH));
    }
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await this.fire(batches[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(FIRE_CONCURRENCY, batches.length) }, worker));
  }

  private async fire(rows: TimeoutRow[]): Promise<void> {
    const saga = this.sagas.get(rows[0]!.saga_name)!;
    let errors: (Error | undefined)[];
    try {
      errors = await this.engine.fireTimeouts(saga, rows);
    } catch (error) {
      errors = rows.map(() => error as Error);
    }
    // A failed row keeps its lease and is claimed again when it expires.
    const now = this.options.clock.now();
    rows.forEach((row, i) => {
      const error = errors[i];
      if (!error) return this.metrics.timeoutFired(row.saga_name, now - row.due_at.getTime());
      this.logger.error(
        `Timeout ${row.timeout_type} of saga "${row.saga_name}" instance "${row.correlation_id}" failed, retry in ${RETRY_MS} ms: ${describeError(error)}`,
      );
    });
  }
}

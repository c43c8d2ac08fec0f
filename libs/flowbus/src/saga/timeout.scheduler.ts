import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS, TIMEOUTS_TIMER } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { describeError } from '../errors/handler-failures.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { SagaEngine } from './saga.engine.js';
import { claimDueTimeouts, type TimeoutRow } from './saga.queries.js';
import { SagaRegistry } from './saga.registry.js';
import { TimeoutAlarm } from './timeout-alarm.js';

/** Timeouts fired at once; each is a transaction, so this bounds the pool connections used. */
const FIRE_CONCURRENCY = 8;
/** A timeout whose firing failed is tried again after this long (its lease). */
const RETRY_MS = 5000;

/**
 * Fires due saga timeouts: polls on the `flowbus-timeouts` interval, and earlier when a step
 * schedules a timeout due before the next poll. Claims a batch with SKIP LOCKED and a lease,
 * then fires each in its own step transaction.
 */
@Injectable()
export class TimeoutScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flowbus:Timeouts');
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private alarm: NodeJS.Timeout | undefined;
  private alarmAt = Infinity;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly sagas: SagaRegistry,
    private readonly engine: SagaEngine,
    private readonly scheduler: SchedulerRegistry,
    alarms: TimeoutAlarm,
  ) {
    alarms.onArm((dueAt) => this.armAt(dueAt.getTime()));
  }

  onApplicationBootstrap(): void {
    if (!this.options.timeouts.enabled || this.sagas.names().length === 0) return;
    this.stopped = false;
    this.scheduler.addInterval(
      TIMEOUTS_TIMER,
      setInterval(() => this.tick(), this.options.timeouts.pollIntervalMs),
    );
    this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.alarm) clearTimeout(this.alarm);
    if (this.scheduler.doesExist('interval', TIMEOUTS_TIMER)) this.scheduler.deleteInterval(TIMEOUTS_TIMER);
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
    try {
      for (;;) {
        const now = this.options.clock.now();
        const q = claimDueTimeouts(this.options.schema, {
          now: new Date(now),
          leaseUntil: new Date(now + RETRY_MS),
          limit: batchSize,
          names: this.sagas.names(),
        });
        const { rows } = await poolOf(this.dataSource).query<TimeoutRow>(q.text, q.values);
        await this.fireAll(rows);
        if (rows.length < batchSize || this.stopped) return;
      }
    } catch (error) {
      this.logger.error(`Could not claim due timeouts: ${describeError(error)}`);
    }
  }

  private async fireAll(rows: TimeoutRow[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < rows.length) await this.fire(rows[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(FIRE_CONCURRENCY, rows.length) }, worker));
  }

  private async fire(row: TimeoutRow): Promise<void> {
    const saga = this.sagas.get(row.saga_name)!;
    try {
      await this.engine.fireTimeout(saga, row);
    } catch (error) {
      // The row keeps its lease and is claimed again when it expires.
      this.logger.error(
        `Timeout ${row.timeout_type} of saga "${row.saga_name}" instance "${row.correlation_id}" failed, retry in ${RETRY_MS} ms: ${describeError(error)}`,
      );
    }
  }
}

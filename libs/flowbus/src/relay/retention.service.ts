import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS, RETENTION_TIMER } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { describeError } from '../errors/handler-failures.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { pruneTicks, rotateLog } from '../outbox/log.queries.js';
import { deleteInbox } from '../inbox/inbox.queries.js';
import { deleteDelivered, type Query } from '../outbox/outbox.queries.js';
import { FlowbusTimers } from '../scheduling/flowbus-timers.js';

/**
 * Deletes delivered outbox rows and inbox rows older than `relay.retentionMs`, in batches of
 * `retentionBatchSize` so no statement holds many locks or bloats WAL at once. With the log
 * storage it deletes no log row: it rotates the log's generations (a TRUNCATE of one every cursor
 * has consumed) and prunes the ticks no cursor needs. Runs with the relay, on the
 * `flowbus-retention` interval.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flowbus:Retention');
  private sweeping: Promise<number> | undefined;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly timers: FlowbusTimers,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.relay.enabled) return;
    await this.timers.addInterval(RETENTION_TIMER, this.options.relay.retentionIntervalMs, () => void this.sweep());
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.timers.removeInterval(RETENTION_TIMER);
    await this.sweeping;
  }

  /** Runs one sweep now (one at a time); returns the rows deleted. */
  sweep(): Promise<number> {
    this.sweeping ??= this.run().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async run(): Promise<number> {
    const { schema, relay, clock } = this.options;
    const before = new Date(clock.now() - relay.retentionMs);
    try {
      const deleted =
        (await this.drain(() => deleteDelivered(schema, before, relay.retentionBatchSize))) +
        (await this.drain(() => deleteInbox(schema, before, relay.retentionBatchSize)));
      if (deleted > 0) this.logger.log(`Deleted ${deleted} delivered/inbox row(s) older than ${before.toISOString()}`);
      if (relay.storage === 'log') await this.rotateLog();
      return deleted;
    } catch (error) {
      this.logger.error(`Retention sweep failed: ${describeError(error)}`);
      return 0;
    }
  }

  /**
   * A generation is switched every `retentionMs / 2` and emptied `retentionMs` after it was
   * closed: with three generations in the ring the next one is empty just in time, and a row is
   * kept between `retentionMs` and 1.5 × `retentionMs`.
   */
  private async rotateLog(): Promise<void> {
    const { schema, relay, clock } = this.options;
    const pool = poolOf(this.dataSource);
    const q = rotateLog(schema, {
      now: new Date(clock.now()),
      retentionMs: relay.retentionMs,
      rotateMs: relay.retentionMs / 2,
    });
    const { truncated, switchedTo } = (await pool.query<{ truncated: number[]; switchedTo: number | null }>(q))
      .rows[0]!;
    if (truncated.length > 0) this.logger.log(`Emptied log generation(s) ${truncated.join(', ')}`);
    if (switchedTo !== null) this.logger.debug(`Log writes go to generation ${switchedTo}`);
    await pool.query(pruneTicks(schema));
  }

  private async drain(query: () => Query): Promise<number> {
    const pool = poolOf(this.dataSource);
    let total = 0;
    for (;;) {
      const q = query();
      const { rowCount } = await pool.query(q.text, q.values);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < this.options.relay.retentionBatchSize) return total;
    }
  }
}

import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { isTransientDatabaseError } from '../database/transient-error.js';
import { BreakerOpenError } from '../errors/breaker-open.error.js';
import { describeError } from '../errors/handler-failures.error.js';
import { NonRetryableError } from '../errors/non-retryable.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { deliveryKey } from '../outbox/delivery-key.js';
import { markDelivered, markFailed, moveToDeadLetter, release, type ClaimedRow } from '../outbox/outbox.queries.js';
import type { FlowbusMetrics } from '../telemetry/flowbus-metrics.js';
import { describeMessage } from '../telemetry/message-scope.js';
import { backoffDelay } from './backoff.js';
import { errorEntry } from './error-entry.js';

/** Longest pause between two attempts to write outcomes while the database is unreachable. */
const MAX_RETRY_PAUSE_MS = 1000;

interface Failure {
  row: ClaimedRow;
  error: unknown;
}

/**
 * Collects delivery outcomes and writes them back in batches: every success finished while the
 * previous batch was being written goes out in one UPDATE. All writes are fenced by the lease
 * owner, so a row whose lease expired (and may be with another relay now) is left alone.
 */
export class DeliveryOutcomes {
  private readonly logger = new Logger('Flowbus:Relay');
  /**
   * Delivery keys only (see deliveryKey): a delivered row's payload is garbage from here on. Keeping whole rows until their
   * batch is written made them outlive young-generation collections at high rates, so V8 promoted
   * every row to the old generation and the heap grew by ~100 MiB between full collections.
   */
  private delivered: string[] = [];
  /** A keyed row is among `delivered`. */
  private deliveredKeyed = false;
  private failed: Failure[] = [];
  private writing: Promise<void> | undefined;
  /** Ends the pause before the next write attempt after a failed one (see abandon). */
  private retryPause: (() => void) | undefined;
  private abandoned = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: ResolvedOptions,
    private readonly owner: string,
    private readonly metrics: FlowbusMetrics,
    /** Called after a batch was written; `keyed` when a keyed row was delivered (its successor is due). */
    private readonly written: (ids: readonly string[], keyed: boolean) => void,
  ) {}

  succeeded(row: ClaimedRow): void {
    this.metrics.delivered(row.destination, 'success');
    this.delivered.push(deliveryKey(row));
    if (row.key !== null) this.deliveredKeyed = true;
    this.schedule();
  }

  failedWith(row: ClaimedRow, error: unknown): void {
    this.failed.push({ row, error });
    this.schedule();
  }

  /**
   * Resolves once every outcome recorded so far is written: `true`, or `false` when `timeoutMs`
   * passed first (the database is unreachable; the outcomes are still kept and retried).
   */
  async flushed(timeoutMs = Infinity): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.writing) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      if (!Number.isFinite(left)) {
        await this.writing;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      await Promise.race([this.writing, limit]);
      clearTimeout(timer);
    }
    return true;
  }

  /**
   * Stops retrying (shutdown with the database still unreachable): the outcomes not written are
   * dropped, their rows stay leased and are delivered again once the lease expires.
   */
  abandon(): void {
    this.abandoned = true;
    this.retryPause?.();
    const ids = [...this.delivered, ...this.failed.map((f) => deliveryKey(f.row))];
    this.delivered = [];
    this.deliveredKeyed = false;
    this.failed = [];
    if (ids.length > 0) {
      this.logger.error(
        `Dropped ${ids.length} delivery outcome(s) that could not be written; their rows are delivered again once their lease expires`,
      );
    }
  }

  /** Gives rows back (by deliveryKey) without counting an attempt. */
  async release(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const q = release(this.options.schema, keys, this.owner, new Date(this.options.clock.now()));
    await this.pool.query(q.text, q.values);
  }

  private schedule(): void {
    if (this.writing || this.abandoned) return;
    this.writing = this.writeAll().finally(() => {
      this.writing = undefined;
      if (this.delivered.length > 0 || this.failed.length > 0) this.schedule();
    });
  }

  private async writeAll(): Promise<void> {
    // Let deliveries settling in the same turn of the event loop join this batch.
    await new Promise((resolve) => setImmediate(resolve));
    let errors = 0;
    while ((this.delivered.length > 0 || this.failed.length > 0) && !this.abandoned) {
      let delivered = this.delivered;
      let keyed = this.deliveredKeyed;
      const failed = this.failed;
      this.delivered = [];
      this.deliveredKeyed = false;
      this.failed = [];
      try {
        if (delivered.length > 0) {
          await this.markDelivered(delivered);
          this.written(delivered, keyed);
          delivered = [];
          keyed = false;
        }
        while (failed.length > 0) {
          await this.markFailed(failed[0]!);
          this.written([deliveryKey(failed.shift()!.row)], false);
        }
        errors = 0;
      } catch (error) {
        if (!isTransientDatabaseError(error)) {
          // Refused by the database itself: writing it again would fail again. The rows stay leased
          // and are delivered again once their lease expires.
          const dropped = delivered.length > 0 ? delivered : [deliveryKey(failed.shift()!.row)];
          this.logger.error(`Could not record ${dropped.length} delivery outcome(s): ${describeError(error)}`);
          this.written(dropped, delivered.length > 0 && keyed);
          this.failed = failed.concat(this.failed);
          continue;
        }
        // The database is unreachable. The deliveries happened: keep their outcomes and write them
        // once it is back, rather than let the rows wait out their lease and be delivered again.
        // Every write is fenced by the lease owner and clears it, so retrying one whose commit was
        // not acknowledged finds no row to change.
        this.delivered = delivered.concat(this.delivered);
        this.deliveredKeyed ||= keyed;
        this.failed = failed.concat(this.failed);
        errors++;
        const pause = Math.min(MAX_RETRY_PAUSE_MS, 50 * 2 ** errors);
        this.logger.error(
          `Could not record ${delivered.length + failed.length} delivery outcome(s) (${describeError(error)}); ` +
            `keeping them, retrying in ${pause} ms`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          this.retryPause = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.retryPause = undefined;
      }
    }
  }

  private async markDelivered(ids: string[]): Promise<void> {
    const q = markDelivered(this.options.schema, ids, this.owner, new Date(this.options.clock.now()));
    const result = await this.pool.query(q.text, q.values);
    if ((result.rowCount ?? 0) < ids.length) {
      this.logger.warn(
        `${ids.length - (result.rowCount ?? 0)} delivered row(s) had lost their lease; another relay may deliver them again`,
      );
    }
  }

  private async markFailed({ row, error }: Failure): Promise<void> {
    const now = new Date(this.options.clock.now());
    if (error instanceof BreakerOpenError) {
      // Refused by a breaker that opened meanwhile, or failed after it opened (in flight as the
      // destination went down): not an attempt. Claims skip the destination now.
      await this.release([deliveryKey(row)]);
      this.metrics.delivered(row.destination, 'released');
      return;
    }
    const policy = this.options.destinations.get(row.destination);
    const attempt = row.attempts + 1;
    const { entry, summary } = errorEntry(error, attempt, now);
    const fatal = isNonRetryable(error) || !policy || attempt >= policy.maxAttempts;
    const context = describeMessage(row);
    if (fatal) {
      const q = moveToDeadLetter(this.options.schema, {
        id: row.id,
        subscriber: row.subscriber,
        owner: this.owner,
        error: summary,
        entry: JSON.stringify([entry]),
        now,
      });
      await this.pool.query(q.text, q.values);
      this.metrics.delivered(row.destination, 'dead_letter');
      this.logger.error(`Dead-lettered ${context} after attempt ${attempt}: ${summary}`);
      return;
    }
    const nextAttemptAt = new Date(now.getTime() + backoffDelay(attempt, policy.backoff));
    const q = markFailed(this.options.schema, {
      id: row.id,
      subscriber: row.subscriber,
      owner: this.owner,
      error: summary,
      entry: JSON.stringify([entry]),
      nextAttemptAt,
    });
    await this.pool.query(q.text, q.values);
    this.metrics.delivered(row.destination, 'retry');
    this.logger.warn(
      `Attempt ${attempt}/${policy.maxAttempts} of ${context} failed, retry at ${nextAttemptAt.toISOString()}: ${summary}`,
    );
  }
}

/** A failure not worth retrying: NonRetryableError, or any error carrying its code. */
export function isNonRetryable(error: unknown): boolean {
  return error instanceof NonRetryableError || (error as { code?: unknown } | null)?.code === 'FLOWBUS_NON_RETRYABLE';
}

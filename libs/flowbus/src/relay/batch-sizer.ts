/** Deliveries of one subscriber in one transaction: at least, at most, and before anything was measured. */
export const BATCH_MIN = 10;
export const BATCH_MAX = 500;
export const BATCH_FIRST = 100;
/** What one batch's work should take: long enough to spread a transaction's fixed cost, short enough to keep locks briefly. */
export const BATCH_BUDGET_MS = 50;
/** Weight of the newest measure in the moving average. */
const WEIGHT = 0.3;

/**
 * Sizes the batches of a subscriber's deliveries from how long its work took per delivery (its
 * handler and the inbox rows, not the wait for a connection or the COMMIT): a cheap handler gets
 * large batches (fewer transactions: at 100 a batch, a no-op handler spent most of its time in
 * BEGIN, COMMIT and their round trips), a slow one small batches that run side by side.
 */
export class BatchSizer {
  private readonly msPerDelivery = new Map<string, number>();

  /** Deliveries per transaction for `subscriber` now. */
  size(subscriber: string): number {
    const ms = this.msPerDelivery.get(subscriber);
    if (ms === undefined) return BATCH_FIRST;
    if (ms <= 0) return BATCH_MAX;
    return Math.max(BATCH_MIN, Math.min(BATCH_MAX, Math.floor(BATCH_BUDGET_MS / ms)));
  }

  /** A batch of `deliveries` of `subscriber` took `ms`. */
  record(subscriber: string, deliveries: number, ms: number): void {
    if (deliveries <= 0 || !(ms >= 0)) return;
    const sample = ms / deliveries;
    const before = this.msPerDelivery.get(subscriber);
    this.msPerDelivery.set(subscriber, before === undefined ? sample : before + WEIGHT * (sample - before));
  }
}

import type { Pool, QueryResult } from 'pg';
import {
  LOG_PARTITIONS,
  advanceCursors,
  getTick,
  latestTick,
  leaseCursors,
  logPage,
  pruneTicks,
  registerCursors,
  relayGone,
  relayHeartbeat,
  releaseCursors,
  takeTick,
  type CursorLease,
  type FirstPage,
  type LeasedCursor,
  type LogRow,
  type NamedQuery,
  type SubscriberFilter,
  type TickRow,
} from './log.queries.js';

/** A batch: the rows committed between two ticks, for one subscriber's leased cursors at tick `from`. */
export interface LogBatch {
  readonly subscriber: string;
  readonly from: TickRow;
  readonly to: TickRow;
  readonly leases: readonly CursorLease[];
  /**
   * A partial window resumed (see 0009-cursor-progress.migration): its rows up to this seq are
   * done, `to` is the window's end. Undefined: the batch starts at `from`'s floor.
   */
  readonly after?: string;
}

/**
 * Reads the log for the relay (issue #9 storage): takes ticks, leases (subscriber, part) cursors,
 * pages through the batch between a cursor's tick and a newer one, and advances the cursors,
 * fenced by the lease epoch. Every statement is named, so it is parsed and planned once per
 * connection.
 * @internal
 */
export class LogReader {
  private readonly ticks = new Map<string, TickRow>();

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  /** Takes a tick in its own autocommit transaction; returns it (one round trip, see takeTick). */
  async tick(): Promise<TickRow> {
    return (await this.tickWithPages([])).to;
  }

  /**
   * Takes a tick and reads, in the same round trip, the first page of each batch of `firsts`
   * (from the tick it names to the new one); `pages[i]` is `firsts[i]`'s (see takeTick).
   */
  async tickWithPages(firsts: readonly FirstPage[]): Promise<{ to: TickRow; pages: LogRow[][] }> {
    // Several statements in one message: node-postgres returns a result per statement.
    const results = (await this.pool.query(takeTick(this.schema, firsts))) as unknown as QueryResult[];
    const to = this.remember(results[1]!.rows[0] as TickRow);
    return { to, pages: results.slice(2).map((r) => r.rows as LogRow[]) };
  }

  /** The tick `id` if it is cached (no round trip), else undefined. */
  cachedTick(id: string): TickRow | undefined {
    return this.ticks.get(id);
  }

  async latest(): Promise<TickRow | undefined> {
    const row = (await this.run<TickRow>(latestTick(this.schema)))[0];
    return row && this.remember(row);
  }

  /** The tick `id` (cached: a tick row never changes). */
  async tickById(id: string): Promise<TickRow> {
    const cached = this.ticks.get(id);
    if (cached) return cached;
    const row = (await this.run<TickRow>(getTick(this.schema, id)))[0];
    if (!row) throw new Error(`Tick ${id} is gone (pruned while a cursor still referenced it?)`);
    return this.remember(row);
  }

  private remember(row: TickRow): TickRow {
    if (this.ticks.size > 1000) this.ticks.clear();
    this.ticks.set(row.id, row);
    return row;
  }

  /**
   * Gives `subscriber` its cursors at tick `at`, unless it has them already. `at` is a fresh tick (one is taken when not given):
   * the latest one may be older than rows committed since (no relay ticked meanwhile), which a
   * new subscriber would then read although they were published before it existed.
   */
  async register(subscriber: string, at?: TickRow): Promise<void> {
    at ??= await this.tick();
    await this.run(registerCursors(this.schema, subscriber, at.id));
  }

  /**
   * Leases `owner`'s cursors of `subscriber`, and free or expired ones up to `max` in all (see
   * leaseCursors); each row counts the other relays alive.
   */
  async lease(subscriber: string, owner: string, now: Date, leaseMs: number, max = 1 << 30): Promise<LeasedCursor[]> {
    return this.run<LeasedCursor>(
      leaseCursors(this.schema, { subscriber, owner, now, until: new Date(now.getTime() + leaseMs), max }),
    );
  }

  /** Announces `owner` as a reader of `subscribers` for `leaseMs` (see relayHeartbeat). */
  async heartbeat(owner: string, subscribers: readonly string[], leaseMs: number): Promise<void> {
    await this.run(relayHeartbeat(this.schema, { owner, subscribers, leaseMs }));
  }

  /** `owner` stops reading: the other relays take their full share at once. */
  async gone(owner: string): Promise<void> {
    await this.run(relayGone(this.schema, owner));
  }

  /**
   * The batches from the leased cursors to tick `to`: cursors at the same tick share one batch
   * (one scan of the window for all their partitions). Cursors in a partial window (recorded by a
   * relay stopped or taken over mid-batch) first resume it: from their tick to the window's end,
   * after its done seq; the caller carries on from the window's end to `to` (see following).
   */
  async batches(subscriber: string, leases: readonly CursorLease[], to: TickRow): Promise<LogBatch[]> {
    const byWindow = new Map<string, CursorLease[]>();
    for (const l of leases) {
      if (BigInt(l.tick_id) >= BigInt(to.id)) continue;
      const window = `${l.tick_id}:${l.window_end ?? ''}:${l.done_seq ?? ''}`;
      const list = byWindow.get(window);
      if (list) list.push(l);
      else byWindow.set(window, [l]);
    }
    const batches: LogBatch[] = [];
    for (const group of byWindow.values()) {
      const { tick_id, window_end, done_seq } = group[0]!;
      const from = await this.tickById(tick_id);
      batches.push(
        window_end !== null && done_seq !== null
          ? { subscriber, from, to: await this.tickById(window_end), leases: group, after: done_seq }
          : { subscriber, from, to, leases: group },
      );
    }
    return batches;
  }

  /** The batch that follows `batch` once it is recorded (its cursors moved to its end), up to `to`; undefined if none. */
  following(batch: LogBatch, to: TickRow): LogBatch | undefined {
    if (BigInt(batch.to.id) >= BigInt(to.id)) return undefined;
    const leases = batch.leases.map((l) => ({ ...l, tick_id: batch.to.id, window_end: null, done_seq: null }));
    return { subscriber: batch.subscriber, from: batch.to, to, leases };
  }

  /**
   * The rows of `batch` in seq order, `pageSize` at a time. The next page is fetched while the
   * caller handles the current one (pipelining: the page's round trip overlaps the deliveries).
   */
  async *pages(
    batch: LogBatch,
    filter: SubscriberFilter,
    pageSize: number,
    /** The first page, read with the tick (see tickWithPages). */
    first?: LogRow[],
  ): AsyncGenerator<LogRow[]> {
    // Every partition at one tick: no partition filter. Otherwise only the batch's own partitions
    // (another group of cursors, at another tick, reads its window itself).
    const parts = batch.leases.length === LOG_PARTITIONS ? undefined : batch.leases.map((l) => l.part);
    const fetch = (after: string) => {
      const page = this.run<LogRow>(
        logPage(this.schema, {
          filter,
          parts,
          after,
          hi: batch.to.hi_seq,
          snapA: batch.from.snap,
          snapB: batch.to.snap,
          limit: pageSize,
        }),
      );
      // A prefetched page is awaited only after the caller's deliveries, or never if the caller
      // stops early: its failure (a connection timeout under load) must surface at that await, not
      // as an unhandled rejection in between, which ends the process.
      page.catch(() => undefined);
      return page;
    };
    let next = first ? Promise.resolve(first) : fetch(batch.after ?? batch.from.floor_seq);
    for (;;) {
      const rows = await next;
      if (rows.length === pageSize) next = fetch(rows[rows.length - 1]!.seq);
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
    }
  }

  /** Advances the batch's cursors to its end tick; returns how many moved (fewer: leases lost). */
  async advance(batch: LogBatch, owner: string, now: Date, leaseMs: number): Promise<number> {
    const moved = await this.run(
      advanceCursors(this.schema, {
        subscriber: batch.subscriber,
        owner,
        leases: batch.leases,
        to: batch.to.id,
        until: new Date(now.getTime() + leaseMs),
      }),
    );
    return moved.length;
  }

  async release(subscriber: string, owner: string, leases: readonly CursorLease[]): Promise<void> {
    await this.run(releaseCursors(this.schema, { subscriber, owner, leases }));
  }

  async prune(): Promise<number> {
    const result = await this.pool.query(pruneTicks(this.schema));
    return result.rowCount ?? 0;
  }

  private async run<T>(q: NamedQuery): Promise<T[]> {
    return (await this.pool.query<T & object>(q)).rows;
  }
}

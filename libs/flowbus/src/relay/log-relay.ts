import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { withPooledClient } from '../database/pooled-client.js';
import type { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { isTransientDatabaseError } from '../database/transient-error.js';
import { BreakerOpenError } from '../errors/breaker-open.error.js';
import { describeError } from '../errors/handler-failures.error.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { LogReader, type LogBatch } from '../outbox/log-reader.js';
import {
  LOG_PARTITIONS,
  advanceCursors,
  insertDeadLetters,
  insertRetries,
  parkedKeys,
  recordProgress,
  releaseOwnerCursors,
  type NamedQuery,
  type CursorLease,
  type FirstPage,
  type LogRow,
  type RetryInsertRow,
  type SubscriberFilter,
  type TickRow,
} from '../outbox/log.queries.js';
import { backoffDelay } from './backoff.js';
import { isNonRetryable } from './delivery-outcomes.js';
import type { FlowbusMetrics } from '../telemetry/flowbus-metrics.js';
import type { DeliveryMessage } from './destination.interface.js';
import { errorEntry } from './error-entry.js';
import { LeaseKeeper } from './lease-keeper.js';

/** A reader of the log: a durable local subscriber, or a configured destination. */
interface LogSubscriber {
  /** Cursor name: `local:<subscriber>` or `destination:<name>`. */
  readonly cursor: string;
  /** Destination of its deliveries (`local` for durable subscribers): breaker and retry policy. */
  readonly destination: string;
  /** Subscriber name in inbox and retry rows ('' for a destination). */
  readonly subscriber: string;
  readonly filter: SubscriberFilter;
}

/** Pause between attempts to record a batch while the database is unreachable. */
const MAX_RECORD_PAUSE_MS = 1000;
/** Ticks are pruned every this many rounds. */
const PRUNE_EVERY = 64;
/**
 * A long batch records its progress (see recordProgress) at most this often: what a relay that
 * crashes mid-batch makes the next owner deliver again. Measured (200k-row drains, log storage,
 * 4 alternating runs each on a loaded machine): every page, every 250 ms, every second and never
 * were within the runs' noise (median 97k, 88k, 77k and 82k rows/s); a record overlaps the next
 * page's fetch. A time bound keeps the cursor writes at 4 a second whatever the rate.
 */
const PROGRESS_EVERY_MS = 250;

/** How a batch ended: recorded (its cursors moved to its end), not recorded, or stopped mid-way. */
type BatchEnd = 'recorded' | 'unrecorded' | 'stopped';

/** The cursors of a subscriber a relay keeps between rounds (see LogRelay.leases). */
interface HeldCursors {
  /** Every partition, at the tick this relay advanced them to. */
  readonly leases: readonly CursorLease[];
  /** Clock time until which they are used without leasing again. */
  readonly reuseUntil: number;
}

/** Kept cursors of a subscriber, all at tick `from`, and the first page of their batch, read with the round's tick. */
interface Prefetched {
  readonly leases: readonly CursorLease[];
  readonly from: TickRow;
  readonly first: LogRow[];
}

/**
 * The relay's reader of the log storage (`relay.storage: 'log'`, issue #9). A round takes one
 * tick and, for every subscriber at once, leases its cursors (or uses those it keeps, see leases;
 * then their first page comes back with the tick), reads the rows committed since its
 * cursor's tick page by page (the next page fetched while the current one is delivered),
 * delivers them (keyless rows concurrently, a key's rows one after the other), then records the
 * batch in ONE transaction: the failed deliveries moved to `flowbus_outbox` (where the claim loop
 * retries them with backoff) and the cursor advance, fenced by the lease epoch. A batch whose
 * advance is fenced off (the lease was taken over) rolls back, and the new owner delivers it
 * again: at least once. A long batch keeps its leases while it delivers (see LeaseKeeper) and
 * records its progress every PROGRESS_EVERY_MS, and when the relay stops (see recordProgress), so
 * a new owner resumes it where it stopped instead of delivering it all again. While the database
 * is unreachable the recording is retried, not dropped: a short outage (shorter than `leaseMs`)
 * keeps the lease and delivers nothing twice.
 *
 * A keyed row whose key has an undelivered row of the same subscriber in `flowbus_outbox` (a head
 * that failed) is parked behind it without an attempt; so is every later row of a key whose row
 * failed in this batch. Rows available later (`availableAt`) are parked until then.
 * @internal
 */
export class LogRelay {
  private readonly logger = new Logger('Flowbus:Relay');
  private readonly reader: LogReader;
  private subscribers: LogSubscriber[] = [];
  private rounds = 0;
  private readonly held = new Map<string, HeldCursors>();
  /** Other relays reading each subscriber (by cursor name), as the last lease or advance saw them. */
  private readonly others = new Map<string, number>();
  /** Destinations whose deliveries a failed run refused (see awaitingLog), and the round that did. */
  private readonly awaiting = new Map<string, number>();
  /** The round in progress (or the last one). */
  private roundNumber = 0;
  /** performance.now() of the next heartbeat (see heartbeat): real time, whatever the app's clock. */
  private nextBeat = 0;
  private pruning: Promise<void> | undefined;
  /** Resolvers waiting for the end of a round that started after they asked (see nextRound). */
  private roundWaiters: ((delivered: number) => void)[] = [];
  private currentWaiters: ((delivered: number) => void)[] = [];
  /** The round in progress read rows: it delivers them and records their outcomes at its end. */
  private delivering = false;
  /** Set on shutdown past its timeout: the round in flight starts no page and records nothing more. */
  private abandoned = false;
  /** The lease keepers of the batches in flight (stopped before the cursors are given back). */
  private readonly keepers = new Set<LeaseKeeper>();

  constructor(
    private readonly pool: Pool,
    private readonly options: ResolvedOptions,
    private readonly owner: string,
    private readonly durable: DurableHandlerRegistry,
    private readonly blocked: () => readonly string[],
    /** Delivers a message (in its delivery span: see FlowbusTelemetry.deliver). */
    private readonly send: (message: DeliveryMessage) => Promise<void>,
    private readonly metrics: FlowbusMetrics,
  ) {
    this.reader = new LogReader(pool, options.schema);
  }

  /** Registers the cursors of every subscriber of this app (new ones start at a tick taken now). */
  async start(): Promise<void> {
    const byName = new Map<string, string[]>();
    const { types, names } = this.durable.pairs();
    types.forEach((type, i) => {
      const list = byName.get(names[i]!);
      if (list) list.push(type);
      else byName.set(names[i]!, [type]);
    });
    const subscribers: LogSubscriber[] = [...byName].map(([name, list]) => ({
      cursor: `local:${name}`,
      destination: LOCAL_DESTINATION,
      subscriber: name,
      filter: { destination: null, types: list },
    }));
    for (const name of this.options.destinations.keys()) {
      if (name === LOCAL_DESTINATION) continue;
      const routed = this.options.routes.filter((r) => r.destination === name).map((r) => r.eventType);
      subscribers.push({
        cursor: `destination:${name}`,
        destination: name,
        subscriber: '',
        filter: { destination: name, types: routed },
      });
    }
    const now = await this.reader.tick();
    for (const s of subscribers) await this.reader.register(s.cursor, now);
    this.subscribers = subscribers;
  }

  /**
   * Announces this relay as a reader of `subscribers` (see 0008-relays.migration), in its first
   * round (not in start: an app whose relay is disabled reads nothing) and then at most every
   * quarter lease: the other relays count it, in their leases and advances, until it is a lease
   * old. A subscriber skipped for an open breaker is not announced, so after a lease the others
   * take its cursors too.
   */
  private async heartbeat(subscribers: readonly LogSubscriber[]): Promise<void> {
    const { leaseMs } = this.options.relay;
    this.nextBeat = performance.now() + leaseMs / 4;
    await this.reader.heartbeat(
      this.owner,
      subscribers.map((s) => s.cursor),
      leaseMs,
    );
  }

  /**
   * The cursors of `s` this relay takes: an equal share among the relays reading it (rounded up, so
   * together they take every partition). A relay alone takes all 16, and keeps them (see leases).
   */
  private share(s: LogSubscriber): number {
    return Math.ceil(LOG_PARTITIONS / (1 + (this.others.get(s.cursor) ?? 0)));
  }

  /**
   * Resolves with the rows a round delivered, for the first round that starts after this call
   * (tests and drainOutbox: a round that delivered nothing means the log is drained up to then).
   */
  nextRound(): Promise<number> {
    return new Promise((resolve) => this.roundWaiters.push(resolve));
  }

  /**
   * Resolves when the round in progress, if it read rows, has recorded its batches: the outcomes of
   * every delivery started before this call are written then (OutboxRelay.whenIdle). A round that
   * found nothing is not waited for: it delivers nothing.
   */
  roundEnd(): Promise<void> {
    if (!this.delivering || this.abandoned) return Promise.resolve();
    return new Promise((resolve) => this.currentWaiters.push(() => resolve()));
  }

  /**
   * Destinations the claim loop must not claim yet: a run of failures refused deliveries of theirs
   * (parked in flowbus_outbox, due now), and the log's later rows for them are not in flight yet.
   * Retried alone, the failures of a burst would make run after run with no success in between and
   * open the breaker, although the destination answers the log's other rows (on the table storage
   * they are claimed together). Cleared once the next round has started delivering a page of theirs,
   * or found none.
   */
  awaitingLog(): string[] {
    return [...this.awaiting.keys()];
  }

  /** The claim loop may claim `destination` again, unless this very round refused its deliveries (see awaitingLog). */
  private claimable(destination: string): void {
    const since = this.awaiting.get(destination);
    if (since === undefined || since === this.roundNumber) return;
    this.awaiting.delete(destination);
    this.onRetries?.();
  }

  /**
   * Shutdown, past `shutdownTimeoutMs` (a page still delivering): the round in flight starts no new
   * page and records nothing more, so the cursors `stop()` gives back are not advanced behind the
   * next owner's back (their advance is fenced by owner anyway); what it delivered since its last
   * progress record is delivered again (at least once). Without a page stuck, a stopping round
   * ends after its page in flight and records its progress itself (see deliverBatch).
   */
  abandon(): void {
    this.abandoned = true;
  }

  /** Gives back every cursor this relay holds (shutdown), so another instance takes them at once. */
  async stop(): Promise<void> {
    this.held.clear();
    // An abandoned round's keepers would renew (fenced off, but racing the release below).
    await Promise.all([...this.keepers].map((k) => k.stop()));
    await this.pruning;
    await this.pool.query(releaseOwnerCursors(this.options.schema, this.owner));
    await this.reader.gone(this.owner);
  }

  /** One round; returns the number of rows read (0: nothing new). */
  async round(abort: AbortSignal): Promise<number> {
    this.currentWaiters = this.roundWaiters;
    this.roundWaiters = [];
    this.roundNumber++;
    let read = 0;
    try {
      const blocked = this.blocked();
      const active = this.subscribers.filter((s) => !blocked.includes(s.destination));
      // The subscribers whose cursors this relay keeps get their first page with the tick: the
      // round's first delivery waits for one round trip, not two.
      const now = this.options.clock.now();
      const kept = active.map((s) => this.kept(s, now));
      const firsts: FirstPage[] = [];
      for (const k of kept)
        if (k) firsts.push({ filter: k.s.filter, after: k.from.floor_seq, snapA: k.from.snap, limit: this.pageSize() });
      const [{ to, pages }] = await Promise.all([
        this.reader.tickWithPages(firsts),
        performance.now() >= this.nextBeat ? this.heartbeat(active) : undefined,
      ]);
      let page = 0;
      const counts = await Promise.all(
        active.map((s, i) => {
          const k = kept[i];
          return this.drainSubscriber(s, to, abort, k && { leases: k.leases, from: k.from, first: pages[page++]! });
        }),
      );
      read = counts.reduce((a, b) => a + b, 0);
      // Skipped (breaker open) or read to the end: nothing of theirs left to wait for.
      for (const s of this.subscribers) this.claimable(s.destination);
      if (++this.rounds % PRUNE_EVERY === 0) this.prune();
    } finally {
      this.delivering = false;
      const waiters = this.currentWaiters;
      this.currentWaiters = [];
      for (const w of waiters) w(read);
    }
    return read;
  }

  /** A page's deliveries start together: a page is at most `concurrency` rows. */
  private pageSize(): number {
    const { batchSize, concurrency } = this.options.relay;
    return Math.min(batchSize, concurrency);
  }

  /** The cursors of `s` kept from earlier rounds and still fresh, all at one tick known without a round trip. */
  private kept(
    s: LogSubscriber,
    now: number,
  ): { s: LogSubscriber; leases: readonly CursorLease[]; from: TickRow } | undefined {
    const held = this.held.get(s.cursor);
    if (!held || now >= held.reuseUntil) return undefined;
    const from = this.reader.cachedTick(held.leases[0]!.tick_id);
    return from && { s, leases: held.leases, from };
  }

  private async drainSubscriber(
    s: LogSubscriber,
    to: TickRow,
    abort: AbortSignal,
    prefetched?: Prefetched,
  ): Promise<number> {
    const { leaseMs } = this.options.relay;
    // Every advance below extends its leases to at least this time + leaseMs.
    const at = this.options.clock.now();
    const leases = prefetched ? prefetched.leases : await this.leases(s, at);
    let read = 0;
    let renewed = 0;
    let keeper: LeaseKeeper | undefined;
    try {
      const queue = await this.reader.batches(s.cursor, leases, to);
      if (queue.length > 0) {
        const { pool, options, owner, logger } = this;
        keeper = new LeaseKeeper(pool, options.schema, owner, s.cursor, leases, leaseMs, options.clock, logger);
        this.keepers.add(keeper);
      }
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        // The prefetched page is this batch's first if the batch is every partition from its tick.
        const first =
          prefetched &&
          batch.after === undefined &&
          batch.from.id === prefetched.from.id &&
          batch.to.id === to.id &&
          batch.leases.length === LOG_PARTITIONS
            ? prefetched.first
            : undefined;
        const { end, rows } = await this.deliverBatch(s, batch, first, keeper!, abort);
        read += rows;
        if (end === 'stopped') {
          this.held.delete(s.cursor);
          return read;
        }
        if (end === 'unrecorded') continue;
        // A resumed partial window is done: its cursors carry on from its end to this round's tick.
        const following = this.reader.following(batch, to);
        if (following) queue.unshift(following);
        else renewed += batch.leases.length;
      }
    } catch (error) {
      // An earlier batch of this round may have moved its cursors: the kept ticks would be stale.
      this.held.delete(s.cursor);
      throw error;
    } finally {
      if (keeper) {
        this.keepers.delete(keeper);
        await keeper.stop();
      }
    }
    const share = this.share(s);
    if (leases.length > share) {
      // More relays read `s` than when these were leased: the excess goes back now that its batch
      // is recorded (never mid-batch), and the others lease it in their next round.
      this.held.delete(s.cursor);
      const excess = [...leases].sort((a, b) => a.part - b.part).slice(share);
      await this.reader.release(s.cursor, this.owner, excess);
      return read;
    }
    if (leases.length === LOG_PARTITIONS && renewed === leases.length) {
      // Every cursor moved to `to` and its lease was extended, fenced by the epoch: still ours.
      const moved = leases.map((l) => ({ ...l, tick_id: to.id, window_end: null, done_seq: null }));
      this.held.set(s.cursor, { leases: moved, reuseUntil: at + leaseMs / 4 });
    } else {
      this.held.delete(s.cursor);
    }
    return read;
  }

  /**
   * Delivers one batch page by page and records it. Its progress is recorded every
   * PROGRESS_EVERY_MS. Stopped mid-way, it starts no new page: on shutdown (`abort`) it records
   * what it delivered first (the page prefetched meanwhile is not delivered: the next owner reads
   * it again); taken over (`keeper.lost`) or abandoned, it records nothing.
   */
  private async deliverBatch(
    s: LogSubscriber,
    batch: LogBatch,
    first: LogRow[] | undefined,
    keeper: LeaseKeeper,
    abort: AbortSignal,
  ): Promise<{ end: BatchEnd; rows: number }> {
    const outcome = new BatchOutcome();
    let rows = 0;
    /** The last seq of the pages delivered since the last record. */
    let done: string | undefined;
    let recordedAt = performance.now();
    for await (const page of this.reader.pages(batch, s.filter, this.pageSize(), first)) {
      if (this.abandoned || keeper.lost) return { end: 'stopped', rows };
      if (abort.aborted) {
        if (done !== undefined) await this.recordProgress(s, batch, outcome, done, keeper);
        return { end: 'stopped', rows };
      }
      rows += page.length;
      this.delivering = true;
      keeper.pageStarted();
      await this.deliverPage(s, page, outcome);
      done = page[page.length - 1]!.seq;
      if (performance.now() - recordedAt >= PROGRESS_EVERY_MS) {
        if (!(await this.recordProgress(s, batch, outcome, done, keeper))) return { end: 'stopped', rows };
        done = undefined;
        recordedAt = performance.now();
      }
    }
    if (this.abandoned || keeper.lost) return { end: 'stopped', rows };
    await keeper.hold();
    try {
      return { end: (await this.record(s, batch, outcome, abort)) ? 'recorded' : 'unrecorded', rows };
    } finally {
      keeper.extended();
    }
  }

  /**
   * The cursors of `s` this relay holds for this round. Leasing is a round trip before the first
   * delivery, so a relay that holds every partition of a subscriber keeps them between rounds:
   * each round's advance extends their leases (fenced by the epoch), and they are reused while at
   * least three quarters of the lease is left. A round that did not record every cursor (taken
   * over, failed, skipped for an open breaker) forgets them, and the next round leases again,
   * reading each cursor's tick from the database. The reused leases carry the tick this relay
   * advanced them to: a stale tick would make the next batch start before it, and deliver again
   * what was delivered. A relay holding only some partitions leases every round, so it takes over
   * the cursors another relay gives back or lets expire as soon as before.
   */
  private async leases(s: LogSubscriber, now: number): Promise<readonly CursorLease[]> {
    const held = this.held.get(s.cursor);
    if (held && now < held.reuseUntil) return held.leases;
    this.held.delete(s.cursor);
    const leased = await this.reader.lease(
      s.cursor,
      this.owner,
      new Date(now),
      this.options.relay.leaseMs,
      this.share(s),
    );
    if (leased.length > 0) this.others.set(s.cursor, leased[0]!.others);
    return leased;
  }

  /** Prunes ticks in the background: a round (and a wake-up waiting behind it) never waits for it. */
  private prune(): void {
    if (this.pruning) return;
    this.pruning = this.reader
      .prune()
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn(`Could not prune ticks (tried again later): ${describeError(error)}`),
      )
      .finally(() => (this.pruning = undefined));
  }

  private async deliverPage(s: LogSubscriber, page: LogRow[], outcome: BatchOutcome): Promise<void> {
    const now = this.options.clock.now();
    const keys = [...new Set(page.filter((r) => r.key !== null && !outcome.parked.has(r.key)).map((r) => r.key!))];
    if (keys.length > 0) {
      const { rows } = await this.pool.query<{ key: string }>(
        parkedKeys(this.options.schema, s.destination, s.subscriber, keys),
      );
      for (const r of rows) outcome.parked.add(r.key);
    }
    const chains = new Map<string, Promise<void>>();
    const work: Promise<void>[] = [];
    for (const row of page) {
      if (row.available_at !== null && row.available_at.getTime() > now) {
        // Not due yet: waits in flowbus_outbox, and so do the later rows of its key.
        if (row.key !== null) outcome.parked.add(row.key);
        outcome.park(this.retryRow(s, row, row.available_at));
        continue;
      }
      if (row.key === null) {
        work.push(this.deliverOne(s, row, outcome));
        continue;
      }
      const key = row.key;
      const previous = chains.get(key) ?? Promise.resolve();
      chains.set(
        key,
        previous.then(() => {
          if (outcome.parked.has(key)) outcome.park(this.retryRow(s, row, new Date(now)));
          else return this.deliverOne(s, row, outcome);
        }),
      );
    }
    // This page's deliveries are under way: retries of `s`'s destination may join them now.
    this.claimable(s.destination);
    await Promise.all([...work, ...chains.values()]);
  }

  private async deliverOne(s: LogSubscriber, row: LogRow, outcome: BatchOutcome): Promise<void> {
    try {
      await this.send(this.message(s, row));
      outcome.delivered++;
    } catch (error) {
      // The key's later rows wait behind the row in flowbus_outbox; behind a dead letter, nothing
      // is left to wait for (as on the table storage, where the next row is claimable at once).
      if (this.failed(s, row, error, outcome) && row.key !== null) outcome.parked.add(row.key);
    }
  }

  /**
   * Classifies a failed first attempt: parked (breaker), retried later, or dead-lettered.
   * @returns whether the row waits in flowbus_outbox (false: dead-lettered)
   */
  private failed(s: LogSubscriber, row: LogRow, error: unknown, outcome: BatchOutcome): boolean {
    const now = new Date(this.options.clock.now());
    if (error instanceof BreakerOpenError) {
      // Refused by an open breaker: not an attempt. The claim loop sends it once the breaker lets it,
      // as a first attempt that judges the destination (the breaker's error marks it: see ClaimedRow.refused).
      outcome.park({ ...this.retryRow(s, row, now), lastError: errorEntry(error, 0, now).summary });
      outcome.released++;
      return true;
    }
    const policy = this.options.destinations.get(s.destination);
    const { entry, summary } = errorEntry(error, 1, now);
    const context = `message ${row.id} (${row.type}) to ${s.destination}${s.subscriber ? `/${s.subscriber}` : ''}`;
    const failed = { ...this.retryRow(s, row, now), attempts: 1, errors: JSON.stringify([entry]), lastError: summary };
    if (isNonRetryable(error) || !policy || policy.maxAttempts <= 1) {
      outcome.dead.push(failed);
      this.logger.error(`Dead-lettered ${context} after attempt 1: ${summary}`);
      return false;
    }
    failed.nextAttemptAt = new Date(now.getTime() + backoffDelay(1, policy.backoff));
    outcome.retries.push(failed);
    outcome.retried++;
    this.logger.warn(
      `Attempt 1/${policy.maxAttempts} of ${context} failed, retry at ${failed.nextAttemptAt.toISOString()}: ${summary}`,
    );
    return true;
  }

  /**
   * Records the progress of a batch still delivering: the retries and dead letters so far, and its
   * cursors' partial window (done up to seq `done`, see 0009-cursor-progress.migration), in one
   * transaction, fenced like the advance; the leases are extended. A key parked in the batch stays
   * parked: its rows are in flowbus_outbox now, where parkedKeys finds them for a new owner, and
   * in `outcome.parked` for this one. A failure is not retried: the next record includes it all.
   * @returns false if the cursors were taken over (the batch must stop)
   */
  private async recordProgress(
    s: LogSubscriber,
    batch: LogBatch,
    outcome: BatchOutcome,
    done: string,
    keeper: LeaseKeeper,
  ): Promise<boolean> {
    const { schema, relay, clock } = this.options;
    await keeper.hold();
    try {
      const progress = recordProgress(schema, {
        subscriber: batch.subscriber,
        owner: this.owner,
        leases: batch.leases,
        from: batch.from.id,
        end: batch.to.id,
        done,
        until: new Date(clock.now() + relay.leaseMs),
      });
      const moved = await this.recordOnce(s, batch, outcome, progress);
      if (moved < batch.leases.length) {
        keeper.lost = true;
        this.logger.warn(
          `${batch.leases.length - moved} cursor(s) of ${s.cursor} were taken over mid-batch; this relay stops delivering their batch`,
        );
        return false;
      }
      this.count(s, outcome);
      outcome.recorded();
      return true;
    } catch (error) {
      this.logger.warn(`Could not record the progress of a batch of ${s.cursor} (${describeError(error)})`);
      return true;
    } finally {
      keeper.extended();
    }
  }

  /**
   * Records a batch: retries and dead letters, and the cursor advance, in one transaction that is
   * rolled back if the advance is fenced off. Retried while the database is unreachable, until it
   * is back or the relay stops (then the batch is delivered again once the lease expires).
   * @returns whether every cursor of the batch moved (its leases were extended)
   */
  private async record(s: LogSubscriber, batch: LogBatch, outcome: BatchOutcome, abort: AbortSignal): Promise<boolean> {
    for (let errors = 0; ; errors++) {
      try {
        const moved = await this.recordOnce(s, batch, outcome, this.advance(batch));
        this.count(s, outcome);
        if (moved < batch.leases.length) {
          this.logger.warn(
            `${batch.leases.length - moved} cursor(s) of ${s.cursor} were taken over; another relay delivers their batch again`,
          );
        }
        return moved === batch.leases.length;
      } catch (error) {
        if (!isTransientDatabaseError(error) || abort.aborted) {
          this.logger.error(`Could not record a batch of ${s.cursor}: ${describeError(error)}; it is delivered again`);
          return false;
        }
        const pause = Math.min(MAX_RECORD_PAUSE_MS, 50 * 2 ** Math.min(errors, 10));
        this.logger.error(`Could not record a batch of ${s.cursor} (${describeError(error)}); retrying in ${pause} ms`);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** The advance of a batch's cursors to its end tick, extending their leases. */
  private advance(batch: LogBatch): NamedQuery {
    const { schema, relay, clock } = this.options;
    return advanceCursors(schema, {
      subscriber: batch.subscriber,
      owner: this.owner,
      leases: batch.leases,
      to: batch.to.id,
      until: new Date(clock.now() + relay.leaseMs),
    });
  }

  /**
   * Writes the retries and dead letters of `outcome` and runs `advance` (a fenced cursor update,
   * whose rows count the other relays: one keeping its cursors learns here that another started)
   * in one transaction, rolled back unless every cursor of the batch was updated.
   * @returns the cursors updated
   */
  private async recordOnce(
    s: LogSubscriber,
    batch: LogBatch,
    outcome: BatchOutcome,
    advance: NamedQuery,
  ): Promise<number> {
    const { schema } = this.options;
    let rows: { others: number }[];
    if (outcome.retries.length === 0 && outcome.dead.length === 0) {
      rows = (await this.pool.query<{ others: number }>(advance)).rows;
    } else {
      rows = await withPooledClient(this.pool, async (client) => {
        await client.query('BEGIN');
        if (outcome.retries.length > 0) await client.query(insertRetries(schema, outcome.retries));
        if (outcome.dead.length > 0) await client.query(insertDeadLetters(schema, outcome.dead));
        const advanced = (await client.query<{ others: number }>(advance)).rows;
        await client.query(advanced.length === batch.leases.length ? 'COMMIT' : 'ROLLBACK');
        return advanced;
      });
      // Before the claim loop is woken: it must not retry the refused ones alone (see awaitingLog).
      if (outcome.released > 0) this.awaiting.set(s.destination, this.roundNumber);
      if (outcome.retries.length > 0) this.onRetries?.();
    }
    if (rows.length > 0) this.others.set(s.cursor, rows[0]!.others);
    return rows.length;
  }

  /** Counts a recorded batch's attempts in `flowbus.deliveries`, as DeliveryOutcomes does for retries. */
  private count(s: LogSubscriber, outcome: BatchOutcome): void {
    this.metrics.delivered(s.destination, 'success', outcome.delivered);
    this.metrics.delivered(s.destination, 'retry', outcome.retried);
    this.metrics.delivered(s.destination, 'dead_letter', outcome.dead.length);
    this.metrics.delivered(s.destination, 'released', outcome.released);
  }

  /** Called after failed deliveries were moved to flowbus_outbox (the claim loop should look). */
  onRetries: (() => void) | undefined;

  private message(s: LogSubscriber, row: LogRow): DeliveryMessage {
    return {
      // The message's own id for every subscriber: retry and dead-letter rows are keyed by
      // (id, subscriber) (see 0006-delivery-keys), the inbox by (message_id, subscriber).
      id: row.id,
      destination: s.destination,
      subscriber: s.subscriber,
      type: row.type,
      key: row.key,
      payload: row.payload,
      headers: row.headers,
      attempts: 0,
      createdAt: row.created_at,
    };
  }

  private retryRow(s: LogSubscriber, row: LogRow, due: Date): RetryInsertRow {
    const { createdAt, ...message } = this.message(s, row);
    return { ...message, createdAt, errors: '[]', lastError: null, nextAttemptAt: due };
  }
}

/** What a batch's deliveries left to record. */
class BatchOutcome {
  readonly retries: RetryInsertRow[] = [];
  readonly dead: RetryInsertRow[] = [];
  /** Keys whose later rows wait behind an undelivered row in flowbus_outbox. */
  readonly parked = new Set<string>();
  /** Attempts of the batch, by outcome (for `flowbus.deliveries`). */
  delivered = 0;
  retried = 0;
  /** Refused by an open breaker: not attempts. */
  released = 0;

  park(row: RetryInsertRow): void {
    this.retries.push(row);
  }

  /** Its retries, dead letters and counts were recorded (progress): the batch goes on from here, its parked keys stay. */
  recorded(): void {
    this.retries.length = 0;
    this.dead.length = 0;
    this.delivered = this.retried = this.released = 0;
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool, QueryResult } from 'pg';
import type { DataSource } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS, RELAY_TIMER } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { withPooledClient } from '../database/pooled-client.js';
import { describeError } from '../errors/handler-failures.error.js';
import { NonRetryableError } from '../errors/non-retryable.error.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { notifyChannel } from '../outbox/outbox.service.js';
import { FlowbusTimers } from '../scheduling/flowbus-timers.js';
import { deliveryKey } from '../outbox/delivery-key.js';
import { claimDue, explainClaim, pinnedClaim, type ClaimedRow } from '../outbox/outbox.queries.js';
import { BreakerRegistry } from './breaker.registry.js';
import { DeliveryOutcomes } from './delivery-outcomes.js';
import type { DeliveryMessage } from './destination.interface.js';
import { LocalDestination } from './local.destination.js';
import { LogRelay } from './log-relay.js';
import { FlowbusTelemetry } from '../telemetry/flowbus-telemetry.js';
import { NotifyListener } from './notify-listener.js';
import { RelaySignal } from '../outbox/relay-signal.js';

/**
 * While claims come back full (a backlog), the relay asks PostgreSQL this often how it would plan
 * the claim, and pins the plan while it would sort the due set (see pinnedClaim).
 */
const PLAN_CHECK_MS = 1000;

/**
 * Delivers outbox rows at least once. A plain async loop: claim due rows (SKIP LOCKED, leased,
 * committed at once), start their deliveries outside any transaction, and claim again while
 * capacity is left; outcomes are written back in batches. Woken by local commits, NOTIFY and the
 * fallback poll `flowbus-relay` (see FlowbusTimers).
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flowbus:Relay');
  /** Lease owner written into claimed rows: unique per relay instance. */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly abort = new AbortController();
  private readonly pool: Pool;
  private readonly outcomes: DeliveryOutcomes;
  /** Delivery keys of the rows claimed and not yet written back (see deliveryKey). */
  private readonly holding = new Set<string>();
  /** Claims run with the planner kept on the due index (see PLAN_CHECK_MS). */
  private pinnedPlan = false;
  private planCheckedAt = -Infinity;
  private inFlight = 0;
  private capacityFreed: (() => void) | undefined;
  private idle: (() => void)[] = [];
  private running: Promise<unknown> | undefined;
  /** The two loops of `running` apart (log storage): shutdown bounds its wait for the log loop only. */
  private loops: { claim: Promise<void>; log: Promise<void> } | undefined;
  /** The log reader, with `relay.storage: 'log'` (then the claim loop only retries failed deliveries). */
  private log: LogRelay | undefined;
  /** Wakes the claim loop: the shared signal for the table storage, its own for the log's retries. */
  private readonly claimSignal: RelaySignal;
  private unsubscribeClock: (() => void) | undefined;
  /** Wall-clock time of the loop's last turn (it turns at least once per poll interval). */
  private loopAt: number | undefined;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly signal: RelaySignal,
    private readonly breakers: BreakerRegistry,
    private readonly local: LocalDestination,
    private readonly durable: DurableHandlerRegistry,
    private readonly listener: NotifyListener,
    private readonly timers: FlowbusTimers,
    private readonly telemetry: FlowbusTelemetry,
  ) {
    this.pool = poolOf(dataSource);
    this.claimSignal = options.relay.storage === 'log' ? new RelaySignal() : signal;
    this.outcomes = new DeliveryOutcomes(this.pool, options, this.owner, telemetry.metrics, (ids, keyed) =>
      this.written(ids, keyed),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    const relay = this.options.relay;
    if (!relay.enabled) {
      // A producer-only app still gives its subscribers their cursors now: what it writes before a
      // worker app first starts is read by that worker, not skipped as history.
      if (relay.storage === 'log') await this.logRelay().start();
      return;
    }
    for (const d of this.options.destinations.values()) {
      this.breakers.register(d);
      await d.destination?.init?.();
    }
    if (relay.listen) await this.listener.start(notifyChannel(this.options.schema), () => this.signal.wake());
    await this.timers.addInterval(RELAY_TIMER, relay.pollIntervalMs, () => this.wakeAll());
    // A test clock moved: retries it made due are claimed now, not at the next poll.
    this.unsubscribeClock = this.options.clock.onJump?.(() => this.wakeAll());
    if (relay.storage === 'log') {
      this.log = this.logRelay();
      this.log.onRetries = () => this.claimSignal.wake();
      await this.log.start();
      this.loops = { claim: this.loop(), log: this.logLoop() };
      this.running = Promise.all([this.loops.claim, this.loops.log]);
    } else {
      this.running = this.loop();
    }
    this.logger.log(
      `Relay ${this.owner} started: destinations ${[...this.options.destinations.keys()].join(', ')}; ` +
        `batch ${relay.batchSize}, concurrency ${relay.concurrency}, poll ${relay.pollIntervalMs} ms, LISTEN ${relay.listen ? 'on' : 'off'}, storage ${relay.storage}`,
    );
  }

  private logRelay(): LogRelay {
    return new LogRelay(
      this.pool,
      this.options,
      this.owner,
      this.durable,
      () => this.breakers.blocked(),
      (message) => this.telemetry.deliver(message, (m) => this.send(m)),
      this.telemetry.metrics,
    );
  }

  /** Stops claiming, lets deliveries in flight finish (up to `shutdownTimeoutMs`), releases the rest. */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.running) return;
    this.abort.abort();
    this.timers.removeInterval(RELAY_TIMER);
    this.unsubscribeClock?.();
    await this.listener.stop();
    const { shutdownTimeoutMs } = this.options.relay;
    if (this.log && this.loops) {
      // A stopping log round starts no new page: it waits for the deliveries of its page in flight,
      // records its progress and returns, and its cursors are given back below; the relay that
      // leases them resumes after that page. A destination that never answers would hold the
      // shutdown: past shutdownTimeoutMs the round is abandoned (nothing more recorded), and what it
      // delivered since its last progress record is delivered again by the next owner.
      const [, roundEnded] = await Promise.all([this.loops.claim, settlesWithin(this.loops.log, shutdownTimeoutMs)]);
      if (!roundEnded) {
        this.log.abandon();
        this.logger.warn(
          `Relay ${this.owner}: a log round still delivering after ${shutdownTimeoutMs} ms was abandoned`,
        );
      }
    } else {
      await this.running;
    }
    this.running = undefined;
    this.loops = undefined;
    // Outcomes still unwritten (the database is unreachable) get their own grace period, then are
    // given up: their rows are delivered again once their lease expires.
    if (!(await this.whenIdle(shutdownTimeoutMs)) && !(await this.outcomes.flushed(shutdownTimeoutMs))) {
      this.outcomes.abandon();
    }
    try {
      await this.log?.stop();
    } catch (error) {
      this.logger.error(
        `Could not give back the log cursors on shutdown; their leases will expire: ${describeError(error)}`,
      );
    }
    const unfinished = [...this.holding];
    try {
      await this.outcomes.release(unfinished);
    } catch (error) {
      this.logger.error(
        `Could not release ${unfinished.length} row(s) on shutdown; their leases will expire: ${describeError(error)}`,
      );
    }
    for (const d of this.options.destinations.values()) await d.destination?.close?.();
    this.breakers.shutdown();
    this.logger.log(
      `Relay ${this.owner} stopped${unfinished.length ? `, released ${unfinished.length} unfinished row(s)` : ''}`,
    );
  }

  /**
   * Log storage: resolves once a round that started after this call found nothing new to deliver
   * (or `false` after `timeoutMs`). Table storage: `true` at once.
   * @internal for drainOutbox
   */
  async whenLogDrained(timeoutMs: number): Promise<boolean> {
    const log = this.log;
    if (!log) return true;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const round = log.nextRound();
      this.signal.wake();
      let timer: NodeJS.Timeout | undefined;
      const left = Math.max(0, deadline - performance.now());
      const read = await Promise.race([
        round,
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), left))),
      ]);
      clearTimeout(timer);
      if (read === undefined) return false;
      if (read === 0) return true;
    }
  }

  /**
   * Whether this instance's relay loop runs, and when it last turned (at least once per
   * `pollIntervalMs` while it is alive). The health indicator reads it.
   */
  status(): RelayStatus {
    return {
      enabled: this.options.relay.enabled,
      running: this.running !== undefined && !this.abort.signal.aborted,
      lastLoopAt: this.loopAt === undefined ? null : new Date(this.loopAt),
      inFlight: this.inFlight,
    };
  }

  /** Resolves when no delivery is in flight and every outcome is written (tests, shutdown). */
  async whenIdle(timeoutMs = Infinity): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    // Log storage: the deliveries of the round in progress are recorded when it ends.
    if (this.log && !(await settlesWithin(this.log.roundEnd(), timeoutMs))) return false;
    if (this.inFlight > 0) {
      const idle = new Promise<boolean>((resolve) => this.idle.push(() => resolve(true)));
      const limit = Number.isFinite(timeoutMs)
        ? new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())
        : idle;
      if (!(await Promise.race([idle, limit]))) return false;
    }
    return this.outcomes.flushed(deadline - performance.now());
  }

  private async loop(): Promise<void> {
    const { batchSize, concurrency } = this.options.relay;
    // Draining a backlog, claim only once half a batch of capacity is free: claiming every time a
    // few deliveries finish makes many small claims, each a round trip and a scan of the due
    // index, and they become the bottleneck. Otherwise (no backlog), claim as soon as anything is free.
    const backlogClaim = Math.ceil(Math.min(batchSize, concurrency) / 2);
    let backlog = false;
    let errors = 0;
    while (!this.abort.signal.aborted) {
      this.loopAt = Date.now();
      try {
        const free = concurrency - this.inFlight;
        if (free <= 0 || (backlog && free < backlogClaim)) {
          await this.capacity();
          continue;
        }
        const limit = Math.min(batchSize, free);
        const rows = await this.claim(limit);
        errors = 0;
        backlog = rows.length === limit;
        for (const row of rows) this.deliver(row);
        if (!backlog) await this.claimSignal.wait(this.abort.signal);
      } catch (error) {
        errors++;
        // The fallback poll wakes the loop anyway, so the pause never exceeds pollIntervalMs: the
        // relay resumes within a poll of the database coming back.
        const pause = Math.min(this.options.relay.pollIntervalMs, 100 * 2 ** Math.min(errors, 20));
        this.logger.error(`Claim failed (${describeError(error)}); retrying within ${pause} ms`);
        await this.claimSignal.wait(this.abort.signal, pause);
      }
    }
  }

  /**
   * Reads the log (storage 'log'): a round per wake-up. A round reads everything committed before
   * its tick, and a commit after that tick wakes the signal (remembered while the round runs), so
   * the next round starts at once; there is no round "to make sure" that would delay the round a
   * commit needs by a whole round of its own.
   */
  private async logLoop(): Promise<void> {
    let errors = 0;
    while (!this.abort.signal.aborted) {
      try {
        await this.log!.round(this.abort.signal);
        errors = 0;
        await this.signal.wait(this.abort.signal);
        // Saga steps still write their messages to flowbus_outbox: a commit wakes both loops.
        this.claimSignal.wake();
      } catch (error) {
        errors++;
        const pause = Math.min(this.options.relay.pollIntervalMs, 100 * 2 ** Math.min(errors, 20));
        this.logger.error(`Log round failed (${describeError(error)}); retrying within ${pause} ms`);
        await this.signal.wait(this.abort.signal, pause);
      }
    }
  }

  private wakeAll(): void {
    this.signal.wake();
    if (this.claimSignal !== this.signal) this.claimSignal.wake();
  }

  /** Resolves when a delivery finished or the relay is stopping. */
  private capacity(): Promise<void> {
    const abort = this.abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        abort.removeEventListener('abort', done);
        resolve();
      };
      abort.addEventListener('abort', done);
      this.capacityFreed = done;
    });
  }

  private async claim(limit: number): Promise<ClaimedRow[]> {
    const now = this.options.clock.now();
    const claim = (destinations: string[], n: number, probe = false) =>
      claimDue(this.options.schema, {
        now: new Date(now),
        leaseUntil: new Date(now + this.options.relay.leaseMs),
        owner: this.owner,
        limit: n,
        destinations,
        local: this.durable.pairs(),
        probe,
      });
    // A half-open breaker's probe, claimed alone so that it is the row of its choice (see claimDue).
    const probes: ClaimedRow[] = [];
    for (const d of this.breakers.probing()) {
      if (probes.length >= limit) break;
      const p = claim([d], 1, true);
      probes.push(...(await this.pool.query<ClaimedRow>(p.text, p.values)).rows);
    }
    // Log storage: also the destinations whose refused deliveries wait for the log's next rows.
    const blocked = [...this.breakers.blocked(), ...(this.log?.awaitingLog() ?? [])];
    const destinations = [...this.options.destinations.keys()].filter((d) => !blocked.includes(d));
    if (destinations.length === 0 || probes.length >= limit) return probes;
    limit -= probes.length;
    const q = claim(destinations, limit);
    const claimed = withPooledClient(this.pool, async (client) => {
      let rows: ClaimedRow[];
      if (this.pinnedPlan) {
        // Several statements in one message: node-postgres returns a result per statement.
        const results = (await client.query(pinnedClaim(q).text)) as unknown as QueryResult<ClaimedRow>[];
        rows = results[results.length - 1]!.rows;
      } else {
        rows = (await client.query<ClaimedRow>(q.text, q.values)).rows;
      }
      if (rows.length < limit) {
        // No backlog: whatever the plan, the due set is small. Check again when one builds up.
        this.pinnedPlan = false;
        this.planCheckedAt = -Infinity;
      } else if (performance.now() - this.planCheckedAt >= PLAN_CHECK_MS) {
        this.planCheckedAt = performance.now();
        const e = explainClaim(q);
        const plan = (await client.query<Record<string, unknown>>(e.text, e.values)).rows[0];
        this.pinnedPlan = JSON.stringify(plan).includes('"Node Type":"Sort"');
      }
      return rows;
    });
    if (probes.length === 0) return claimed;
    // The probes are leased already: deliver them even if this claim fails.
    try {
      return [...probes, ...(await claimed)];
    } catch (error) {
      this.logger.error(`Claim failed (${describeError(error)}); delivering the breaker probe(s) alone`);
      return probes;
    }
  }

  private deliver(row: ClaimedRow): void {
    this.inFlight++;
    this.holding.add(deliveryKey(row));
    this.telemetry
      // Log storage: a row a breaker gave back (this relay's or another's) is a first attempt like
      // the log's and judges the destination; retries and rows parked behind their key's head do
      // not (see BreakerRegistry.fire).
      .deliver(toMessage(row), (message) => this.send(message, this.log === undefined || row.refused))
      .then(
        () => this.settled(row, undefined, true),
        (error: unknown) => this.settled(row, error, false),
      );
  }

  /**
   * Sends one message. `judged`: whether its failure may start a run of failures (see
   * BreakerRegistry.fire): on the log storage, only for the claim loop's rows a breaker refused.
   */
  private send(message: DeliveryMessage, judged = true): Promise<void> {
    try {
      if (message.destination === LOCAL_DESTINATION) return this.local.deliver(message);
      if (this.breakers.has(message.destination)) return this.breakers.fire(message.destination, message, judged);
      const destination = this.options.destinations.get(message.destination)?.destination;
      if (!destination) throw new NonRetryableError(`Destination "${message.destination}" is not configured`);
      return Promise.resolve(destination.deliver(message));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private settled(row: ClaimedRow, error: unknown, ok: boolean): void {
    if (ok) this.outcomes.succeeded(row);
    else this.outcomes.failedWith(row, error);
    this.inFlight--;
    this.loopAt = Date.now();
    const freed = this.capacityFreed;
    this.capacityFreed = undefined;
    freed?.();
  }

  private written(keys: readonly string[], keyed: boolean): void {
    for (const k of keys) this.holding.delete(k);
    // A delivered keyed row unblocks the next row of its key: claim again rather than wait a poll.
    if (keyed) this.claimSignal.wake();
    if (this.inFlight === 0 && this.holding.size === 0) {
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
    }
  }
}

/** What `OutboxRelay.status()` says. */
export interface RelayStatus {
  /** `relay.enabled`: false when this instance runs no relay. */
  readonly enabled: boolean;
  /** The loop was started and not stopped. */
  readonly running: boolean;
  /** When the loop last turned; null before it started. */
  readonly lastLoopAt: Date | null;
  /** Deliveries in progress. */
  readonly inFlight: number;
}

/** Whether `promise` settles within `timeoutMs`. */
async function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  if (!Number.isFinite(timeoutMs)) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const settled = await Promise.race([promise.then(() => true), limit]);
  clearTimeout(timer);
  return settled;
}

function toMessage(row: ClaimedRow): DeliveryMessage {
  return {
    id: row.id,
    destination: row.destination,
    subscriber: row.subscriber,
    type: row.type,
    key: row.key,
    payload: row.payload,
    headers: row.headers,
    attempts: row.attempts,
    createdAt: row.created_at,
  };
}

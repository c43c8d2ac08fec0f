import { Injectable, Logger } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { BreakerOpenError } from '../errors/breaker-open.error.js';
import { NonRetryableError } from '../errors/non-retryable.error.js';
import type { ResolvedDestination } from '../options/resolved-options.interface.js';
import type { DeliveryMessage } from './destination.interface.js';
import { RelaySignal } from '../outbox/relay-signal.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** State and rolling counts of one destination's breaker, as the admin API shows them. */
export interface BreakerSnapshot {
  readonly destination: string;
  readonly state: BreakerState;
  readonly stats: { fires: number; failures: number; successes: number; rejects: number; timeouts: number };
}

/** Error code opossum gives a call refused by an open breaker. */
export const BREAKER_OPEN = 'EOPENBREAKER';

/**
 * A run of failures, from the first failure after a success until its verdict: acquitted by a
 * delivery in flight that succeeds, or convicted when none is left to (the breaker opens).
 */
interface Run {
  /** Resolves with the verdict: `true` when the run's later failures count no attempt. */
  readonly verdict: Promise<boolean>;
  readonly decide: (opened: boolean) => void;
}

interface Entry {
  readonly breaker: CircuitBreaker<[DeliveryMessage], void>;
  readonly policy: { readonly consecutiveFailures: number; readonly volumeThreshold: number };
  /** Deliveries through the breaker not settled yet. */
  inFlight: number;
  /** The run of failures under way: the destination is suspect and not claimed. */
  run: Run | undefined;
  /** Runs in a row that ended without a success (reset by a success). */
  failedRuns: number;
  /** When the last delivery succeeded (performance.now()). */
  lastSuccessAt: number;
  /** When the breaker opened, until it closes again (half-open probes included). */
  openSince: number | undefined;
}

/**
 * One opossum circuit breaker per destination. While a breaker is open the relay does not claim
 * that destination's rows; half-open lets exactly one delivery through as a probe. A
 * `NonRetryableError` is the message's fault, not the destination's, so it does not count.
 *
 * On top of opossum's error percentage over its rolling window, a failure makes the destination
 * suspect (unless a delivery succeeded after the failed one started: the destination answers, the
 * failure is the message's): the relay claims none of its rows until the deliveries already in
 * flight settle. One of them succeeding acquits it (a blip: the run's failures are attempts) and
 * claims resume. When none is left to succeed the run failed: only its first failure costs an
 * attempt (the others were in flight with it), and `consecutiveFailures` failed runs in a row,
 * without a success between them, open the breaker. Deliveries that fail after it opened are
 * refused like the ones it blocks. A percentage alone would need as many failures as there were
 * successes after a busy period, and counting single failures in a row opens it on a burst of
 * messages that fail while the destination answers others. The pause before a probe starts at
 * `initialResetTimeoutMs` and grows with the outage (`resetTimeoutRatio` of its length so far) up
 * to `resetTimeoutMs`, so a short outage is probed soon and a long one rarely.
 */
@Injectable()
export class BreakerRegistry {
  private readonly logger = new Logger('Flowbus:Breakers');
  private readonly entries = new Map<string, Entry>();
  /** Messages whose delivery failed while their breaker was open: not an attempt. */
  private readonly echoes = new WeakSet<DeliveryMessage>();
  /** Messages whose delivery failed during a run it did not start: they wait for its verdict. */
  private readonly held = new WeakMap<DeliveryMessage, Run>();
  /** When each delivery in flight started (performance.now()). */
  private readonly started = new WeakMap<DeliveryMessage, number>();
  /** Deliveries in flight whose failure does not start a run (see fire). */
  private readonly unjudged = new WeakSet<DeliveryMessage>();

  constructor(private readonly signal: RelaySignal) {}

  register(destination: ResolvedDestination): void {
    const deliver = destination.destination?.deliver.bind(destination.destination);
    if (!deliver || destination.circuitBreaker === false || this.entries.has(destination.name)) return;
    const o = destination.circuitBreaker;
    const breaker = new CircuitBreaker<[DeliveryMessage], void>(deliver, {
      name: destination.name,
      timeout: o.timeoutMs,
      errorThresholdPercentage: o.errorThresholdPercentage,
      resetTimeout: o.initialResetTimeoutMs,
      volumeThreshold: o.volumeThreshold,
      rollingCountTimeout: o.rollingCountTimeoutMs,
      errorFilter: (error: unknown) => error instanceof NonRetryableError,
      // Only counts are used (opening, admin stats). With percentiles on, opossum concatenates and
      // sorts every latency of the window (tens of thousands at relay rates) each time stats are
      // read: on every failure and, through snapshots, every bucket interval.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    // opossum reads `options.resetTimeout` each time the breaker opens (its typings omit `options`).
    const settings = (breaker as unknown as { options: { resetTimeout: number } }).options;
    const entry: Entry = {
      breaker,
      policy: o,
      inFlight: 0,
      run: undefined,
      failedRuns: 0,
      lastSuccessAt: -Infinity,
      openSince: undefined,
    };
    const name = destination.name;
    // Runs before opossum decides on its percentage, so `opened` is the state this failure met.
    breaker.on('failure', (_error, _latency, args) => {
      if (breaker.opened) {
        this.echoes.add(args[0]);
        return;
      }
      // A failed half-open probe reopens the breaker (opossum): an attempt like any other. A
      // delivery that succeeded after this one started shows the destination answering: the
      // failure is this message's (a burst of them is not an outage).
      if (!breaker.closed || entry.lastSuccessAt >= (this.started.get(args[0]) ?? -Infinity)) return;
      if (entry.run) this.held.set(args[0], entry.run);
      else if (!this.unjudged.has(args[0]) || entry.failedRuns > 0) entry.run = newRun();
    });
    // Also for a NonRetryableError (filtered): the destination answered.
    breaker.on('success', () => {
      entry.lastSuccessAt = performance.now();
      entry.failedRuns = 0;
      this.endRun(entry, false);
    });
    breaker.on('open', () => {
      entry.openSince ??= performance.now();
      this.endRun(entry, true);
      this.logger.warn(
        `Circuit breaker of destination "${name}" opened: its deliveries are paused for ${settings.resetTimeout} ms`,
      );
    });
    breaker.on('halfOpen', () => {
      // The pause to use should this probe fail (opossum reads it when the breaker opens).
      const down = performance.now() - (entry.openSince ?? performance.now());
      settings.resetTimeout = Math.round(
        Math.min(o.resetTimeoutMs, Math.max(o.initialResetTimeoutMs, down * o.resetTimeoutRatio)),
      );
      this.logger.log(`Circuit breaker of destination "${name}" is half-open: probing with one delivery`);
      this.signal.wake();
    });
    breaker.on('close', () => {
      entry.openSince = undefined;
      entry.failedRuns = 0;
      settings.resetTimeout = o.initialResetTimeoutMs;
      this.logger.log(`Circuit breaker of destination "${name}" closed: deliveries resume`);
      this.signal.wake();
    });
    this.entries.set(name, entry);
  }

  /** Whether `destination` delivers through a breaker. */
  has(destination: string): boolean {
    return this.entries.has(destination);
  }

  /** The destination's opossum breaker; `undefined` when it has none. */
  breakerOf(destination: string): CircuitBreaker<[DeliveryMessage], void> | undefined {
    return this.entries.get(destination)?.breaker;
  }

  /**
   * Delivers through the destination's breaker. Rejects with BreakerOpenError when the breaker
   * refused the delivery, or the delivery failed after the breaker had opened or late in a run of
   * failures that failed (see the class comment): no attempt is counted for those.
   *
   * `judged: false` (the log storage's claim loop): the delivery's failure does not start a run
   * while the destination is not suspect (no failed run since its last success). It joins a run
   * under way (and waits for its verdict), counts in opossum's error percentage, and a half-open
   * probe's failure reopens the breaker as any other. Those rows (retries, and the rows parked
   * behind a failing head of their key) are claimed apart from the log's traffic, due together and
   * failing for their own reasons once the log is read: run after run of them alone would open the
   * breaker while the destination answers every other row, and then only they could be its
   * probes, each failing again (a key's rows then drain one attempt per probe, up to
   * `resetTimeoutMs` apart). The log's first attempts judge the destination. Once one of their runs
   * failed, with no success since, such a failure starts a run too: the claim loop's rows are then
   * mostly those the failed run refused (parked, due at once), and claimed while none of the log's
   * deliveries is in flight each would cost an attempt with no run to hold it (the reliability
   * suite's destination-outage scenario burnt about a hundred this way before the breaker opened).
   */
  async fire(destination: string, message: DeliveryMessage, judged = true): Promise<void> {
    const entry = this.entries.get(destination);
    if (!entry) throw new Error(`No circuit breaker for destination "${destination}"`);
    let failure: { error: unknown } | undefined;
    entry.inFlight++;
    this.started.set(message, performance.now());
    if (!judged) this.unjudged.add(message);
    try {
      await entry.breaker.fire(message);
    } catch (error) {
      failure = { error };
    } finally {
      entry.inFlight--;
      this.started.delete(message);
      this.unjudged.delete(message);
      if (entry.run && entry.inFlight === 0) this.convict(entry);
    }
    if (!failure) return;
    const { error } = failure;
    const run = this.held.get(message);
    this.held.delete(message);
    const refused = (error as { code?: unknown } | null)?.code === BREAKER_OPEN;
    if (refused || this.echoes.has(message) || (run && (await run.verdict))) {
      this.echoes.delete(message);
      throw new BreakerOpenError(destination, { cause: error });
    }
    throw error;
  }

  /**
   * Destinations whose rows the relay's claim must skip: suspect (a run of failures awaits its
   * verdict), open, or half-open (its probe is claimed on its own: see probing).
   */
  blocked(): string[] {
    const names: string[] = [];
    for (const [name, { breaker: b, run }] of this.entries) if (run || b.opened || b.halfOpen) names.push(name);
    return names;
  }

  /** Half-open destinations waiting for their probe (opossum's `pendingClose`): the relay claims it alone (see claimDue). */
  probing(): string[] {
    const names: string[] = [];
    for (const [name, { breaker: b }] of this.entries) if (b.halfOpen && b.pendingClose) names.push(name);
    return names;
  }

  snapshots(): BreakerSnapshot[] {
    return [...this.entries].map(([destination, { breaker: b }]) => {
      const s = b.stats;
      return {
        destination,
        state: b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed',
        stats: {
          fires: s.fires,
          failures: s.failures,
          successes: s.successes,
          rejects: s.rejects,
          timeouts: s.timeouts,
        },
      };
    });
  }

  shutdown(): void {
    for (const entry of this.entries.values()) {
      this.endRun(entry, false);
      entry.breaker.shutdown();
    }
    this.entries.clear();
  }

  /**
   * Nothing in flight is left to acquit the run: one more failed run, and the breaker opens once
   * there were `consecutiveFailures` of them in a row (and `volumeThreshold` deliveries in its
   * window). Either way only the run's first failure counts as an attempt; claims resume when the
   * breaker stays closed, and the next run (or a success) decides.
   */
  private convict(entry: Entry): void {
    const { breaker, policy } = entry;
    entry.failedRuns++;
    if (
      breaker.closed &&
      entry.failedRuns >= policy.consecutiveFailures &&
      breaker.stats.fires >= policy.volumeThreshold
    ) {
      breaker.open(); // ends the run ('open')
    }
    this.endRun(entry, true);
  }

  /** Ends the run under way: `refused`, its held failures count no attempt. */
  private endRun(entry: Entry, refused: boolean): void {
    const run = entry.run;
    if (!run) return;
    entry.run = undefined;
    run.decide(refused);
    if (!entry.breaker.opened) this.signal.wake();
  }
}

function newRun(): Run {
  let decide!: (opened: boolean) => void;
  const verdict = new Promise<boolean>((resolve) => (decide = resolve));
  return { verdict, decide };
}

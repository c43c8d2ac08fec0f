import { Injectable, Logger } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { BreakerOpenError } from '../errors/breaker-open.error.js';
import { NonRetryableError } from '../errors/non-retryable.error.js';
import type { ResolvedDestination } from '../options/resolved-options.interface.js';
import type { DeliveryMessage } from './destination.interface.js';
import { RelaySignal } from './relay-signal.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** State and rolling counts of one destination's breaker, as the admin API shows them. */
export interface BreakerSnapshot {
  readonly destination: string;
  readonly state: BreakerState;
  readonly stats: { fires: number; failures: number; successes: number; rejects: number; timeouts: number };
}

/** Error code opossum gives a call refused by an open breaker. */
export const BREAKER_OPEN = 'EOPENBREAKER';

interface Entry {
  readonly breaker: CircuitBreaker<[DeliveryMessage], void>;
  /** Failures since the last success. */
  consecutive: number;
  /** When the breaker opened, until it closes again (half-open probes included). */
  openSince: number | undefined;
}

/**
 * One opossum circuit breaker per destination. While a breaker is open the relay does not claim
 * that destination's rows; half-open lets exactly one delivery through as a probe. A
 * `NonRetryableError` is the message's fault, not the destination's, so it does not count.
 *
 * On top of opossum's error percentage over its rolling window, a breaker opens after
 * `consecutiveFailures` failures in a row: after a busy period the percentage needs as many
 * failures as there were successes (thousands of attempts burnt) before it trips. Deliveries
 * that fail after it opened (they were in flight) are refused like the ones it blocks, so no
 * attempt is counted for them. The pause before a probe starts at `initialResetTimeoutMs` and
 * grows with the outage (`resetTimeoutRatio` of its length so far) up to `resetTimeoutMs`, so a
 * short outage is probed soon and a long one rarely.
 */
@Injectable()
export class BreakerRegistry {
  private readonly logger = new Logger('Flowbus:Breakers');
  private readonly entries = new Map<string, Entry>();
  /** Messages whose delivery failed while their breaker was open: not an attempt. */
  private readonly echoes = new WeakSet<DeliveryMessage>();

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
    const entry: Entry = { breaker, consecutive: 0, openSince: undefined };
    const name = destination.name;
    // Runs before opossum decides on its percentage, so `opened` is the state this failure met.
    breaker.on('failure', (_error, _latency, args) => {
      if (breaker.opened) {
        this.echoes.add(args[0]);
        return;
      }
      entry.consecutive++;
      if (breaker.closed && entry.consecutive >= o.consecutiveFailures && breaker.stats.fires >= o.volumeThreshold) {
        breaker.open();
      }
    });
    breaker.on('success', () => {
      entry.consecutive = 0;
    });
    breaker.on('open', () => {
      entry.openSince ??= performance.now();
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
      entry.consecutive = 0;
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
   * refused the delivery or the delivery failed after the breaker had opened.
   */
  async fire(destination: string, message: DeliveryMessage): Promise<void> {
    const entry = this.entries.get(destination);
    if (!entry) throw new Error(`No circuit breaker for destination "${destination}"`);
    try {
      await entry.breaker.fire(message);
    } catch (error) {
      const refused = (error as { code?: unknown } | null)?.code === BREAKER_OPEN;
      if (refused || this.echoes.has(message)) {
        this.echoes.delete(message);
        throw new BreakerOpenError(destination, { cause: error });
      }
      throw error;
    }
  }

  /** Destinations whose rows must not be claimed now: open, or half-open with its probe in flight. */
  blocked(): string[] {
    const names: string[] = [];
    for (const [name, { breaker: b }] of this.entries)
      if (b.opened || (b.halfOpen && !b.pendingClose)) names.push(name);
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
    for (const { breaker } of this.entries.values()) breaker.shutdown();
    this.entries.clear();
  }
}

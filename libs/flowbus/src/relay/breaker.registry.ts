import { Injectable, Logger } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { NonRetryableError } from '../errors/non-retryable.error.js';
import type { ResolvedDestination } from '../options/resolved-options.interface.js';
import type { DeliveryMessage } from './destination.interface.js';

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
 * One opossum circuit breaker per destination. While a breaker is open the relay does not claim
 * that destination's rows; half-open lets exactly one delivery through as a probe. A
 * `NonRetryableError` is the message's fault, not the destination's, so it does not count.
 */
@Injectable()
export class BreakerRegistry {
  private readonly logger = new Logger('Flowbus:Breakers');
  private readonly breakers = new Map<string, CircuitBreaker<[DeliveryMessage], void>>();

  register(destination: ResolvedDestination): void {
    const deliver = destination.destination?.deliver.bind(destination.destination);
    if (!deliver || destination.circuitBreaker === false || this.breakers.has(destination.name)) return;
    const o = destination.circuitBreaker;
    const breaker = new CircuitBreaker<[DeliveryMessage], void>(deliver, {
      name: destination.name,
      timeout: o.timeoutMs,
      errorThresholdPercentage: o.errorThresholdPercentage,
      resetTimeout: o.resetTimeoutMs,
      volumeThreshold: o.volumeThreshold,
      rollingCountTimeout: o.rollingCountTimeoutMs,
      errorFilter: (error: unknown) => error instanceof NonRetryableError,
      // Only counts are used (opening, admin stats). With percentiles on, opossum concatenates and
      // sorts every latency of the window (tens of thousands at relay rates) each time stats are
      // read: on every failure and, through snapshots, every bucket interval.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    const name = destination.name;
    breaker.on('open', () =>
      this.logger.warn(
        `Circuit breaker of destination "${name}" opened: its deliveries are paused for ${o.resetTimeoutMs} ms`,
      ),
    );
    breaker.on('halfOpen', () =>
      this.logger.log(`Circuit breaker of destination "${name}" is half-open: probing with one delivery`),
    );
    breaker.on('close', () => this.logger.log(`Circuit breaker of destination "${name}" closed: deliveries resume`));
    this.breakers.set(name, breaker);
  }

  /** Delivers through the destination's breaker; `undefined` when it has none. */
  breakerOf(destination: string): CircuitBreaker<[DeliveryMessage], void> | undefined {
    return this.breakers.get(destination);
  }

  /** Destinations whose rows must not be claimed now: open, or half-open with its probe in flight. */
  blocked(): string[] {
    const names: string[] = [];
    for (const [name, b] of this.breakers) if (b.opened || (b.halfOpen && !b.pendingClose)) names.push(name);
    return names;
  }

  snapshots(): BreakerSnapshot[] {
    return [...this.breakers].map(([destination, b]) => {
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
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }
}

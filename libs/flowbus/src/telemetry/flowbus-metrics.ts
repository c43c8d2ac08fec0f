import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Attributes, Counter, Histogram, ObservableResult } from '@opentelemetry/api';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { loadOtelApi } from './otel-api.js';

/** What became of a delivery attempt, as counted by `flowbus.deliveries`. */
export type DeliveryOutcome = 'success' | 'retry' | 'dead_letter' | 'released';

const OUTCOMES: readonly DeliveryOutcome[] = ['success', 'retry', 'dead_letter', 'released'];

/** The deliveries of one destination: counts by outcome (in OUTCOMES order) and their attribute sets. */
interface DestinationTally {
  readonly counts: number[];
  readonly attributes: readonly Attributes[];
  /** Attributes of `flowbus.delivery.duration`: success, failure. */
  readonly timed: readonly [Attributes, Attributes];
}

/** Histogram buckets in seconds, 5 ms to 5 min (the SDK's defaults are made for milliseconds). */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Flowbus's metrics through the OpenTelemetry metrics API (meter `nestjs-flowbus`) that are
 * recorded as things happen: deliveries, their duration, bus handler failures, timeout lateness.
 * The gauges read from the database and the breakers are FlowbusGauges' (monitoring/). Without
 * `@opentelemetry/api` installed (or with `telemetry.enabled: false`), or with no meter provider
 * registered at start, nothing is created and every record call returns at once.
 * @internal
 */
@Injectable()
export class FlowbusMetrics implements OnModuleInit {
  /** Instruments exist (the API is loaded): counting is worth doing. */
  private enabled = false;
  /**
   * Deliveries counted in process and reported by an observable counter when a reader collects.
   * A synchronous counter's `add` makes the SDK serialise the attribute set to find its series on
   * every call (`hashAttributes`, ~1.5 µs a call in a profile of the relay bench), whatever the
   * object's identity. The histogram still records each delivery (a distribution cannot be summed
   * in process); its attribute sets are built once per destination, which spares an allocation.
   */
  private readonly tallies = new Map<string, DestinationTally>();
  private duration: Histogram | undefined;
  private handlerFailures: Counter | undefined;
  private timeoutLateness: Histogram | undefined;

  constructor(@Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions) {}

  async onModuleInit(): Promise<void> {
    const api = await loadOtelApi(this.options);
    if (!api) return;
    const meter = api.metrics.getMeter('nestjs-flowbus');
    // No meter provider registered: the API's instruments would be no-ops for good (the metrics API
    // has no proxy that a later registration would fill), so nothing is created or counted.
    if (typeof api.createNoopMeter === 'function' && meter === api.createNoopMeter()) return;
    this.enabled = true;
    meter
      .createObservableCounter('flowbus.deliveries', {
        description: 'Delivery attempts by destination and outcome (success, retry, dead_letter, released)',
      })
      .addCallback((result) => this.observeDeliveries(result));
    this.duration = meter.createHistogram('flowbus.delivery.duration', {
      description: 'Duration of delivery attempts',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
    this.handlerFailures = meter.createCounter('flowbus.bus.handler_failures', {
      description: 'In-process bus handlers that threw, rejected or timed out',
    });
    this.timeoutLateness = meter.createHistogram('flowbus.saga.timeout.lateness', {
      description: 'How long after its due time a saga timeout fired',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
  }

  /** Counts `n` attempts to `destination` with this outcome. */
  delivered(destination: string, outcome: DeliveryOutcome, n = 1): void {
    if (this.enabled && n > 0) this.tally(destination).counts[OUTCOMES.indexOf(outcome)]! += n;
  }

  /** Delivery durations are recorded (a meter provider was registered): worth timing them. */
  get timing(): boolean {
    return this.duration !== undefined;
  }

  deliveryDuration(destination: string, seconds: number, ok: boolean): void {
    if (this.duration) this.duration.record(seconds, this.tally(destination).timed[ok ? 0 : 1]);
  }

  private tally(destination: string): DestinationTally {
    let t = this.tallies.get(destination);
    if (!t) {
      t = {
        counts: OUTCOMES.map(() => 0),
        attributes: OUTCOMES.map((outcome) => ({ destination, outcome })),
        timed: [
          { destination, outcome: 'success' },
          { destination, outcome: 'failure' },
        ],
      };
      this.tallies.set(destination, t);
    }
    return t;
  }

  private observeDeliveries(result: ObservableResult): void {
    for (const t of this.tallies.values()) {
      t.counts.forEach((n, i) => {
        if (n > 0) result.observe(n, t.attributes[i]);
      });
    }
  }

  handlerFailed(eventType: string, handler: string): void {
    this.handlerFailures?.add(1, { type: eventType, handler } satisfies Attributes);
  }

  timeoutFired(saga: string, latenessMs: number): void {
    this.timeoutLateness?.record(Math.max(0, latenessMs) / 1000, { saga });
  }
}

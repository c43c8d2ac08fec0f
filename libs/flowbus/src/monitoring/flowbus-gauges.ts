import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { describeError } from '../errors/handler-failures.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { BreakerRegistry } from '../relay/breaker.registry.js';
import { loadOtelApi } from '../telemetry/otel-api.js';
import { FlowbusStats } from './flowbus-stats.js';

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * Flowbus's observable gauges through the OpenTelemetry metrics API (meter `nestjs-flowbus`),
 * read when a metric reader collects: from the database (through FlowbusStats, one query per
 * collection) and from the breakers. Like FlowbusMetrics, it creates nothing without
 * `@opentelemetry/api`, with `telemetry.enabled: false`, or with no meter provider at start.
 * @internal
 */
@Injectable()
export class FlowbusGauges implements OnModuleInit {
  private readonly logger = new Logger('Flowbus:Metrics');

  constructor(
    private readonly stats: FlowbusStats,
    private readonly breakers: BreakerRegistry,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    const api = await loadOtelApi(this.options);
    if (!api) return;
    const meter = api.metrics.getMeter('nestjs-flowbus');
    if (typeof api.createNoopMeter === 'function' && meter === api.createNoopMeter()) return;
    const pending = meter.createObservableGauge('flowbus.outbox.pending', {
      description: 'Undelivered messages (pending or in flight) by destination',
    });
    const oldest = meter.createObservableGauge('flowbus.outbox.oldest_pending_age', {
      description: 'Age of the oldest undelivered message by destination (0 when none)',
      unit: 's',
    });
    const subscriberPending = meter.createObservableGauge('flowbus.subscriber.pending', {
      description: 'Undelivered messages by durable subscriber',
    });
    const subscriberOldest = meter.createObservableGauge('flowbus.subscriber.oldest_pending_age', {
      description: 'Age of the oldest undelivered message by durable subscriber',
      unit: 's',
    });
    const deadLetters = meter.createObservableGauge('flowbus.dead_letters', {
      description: 'Dead letters by destination',
    });
    const sagas = meter.createObservableGauge('flowbus.saga.instances', {
      description: 'Saga instances by saga and status',
    });
    const timeouts = meter.createObservableGauge('flowbus.saga.timeouts.pending', {
      description: 'Scheduled saga timeouts',
    });
    const breakers = meter.createObservableGauge('flowbus.breaker.state', {
      description: 'Circuit breaker of each destination: 0 closed, 1 half-open, 2 open',
    });
    meter.addBatchObservableCallback(
      async (result) => {
        for (const b of this.breakers.snapshots()) {
          result.observe(breakers, BREAKER_VALUE[b.state], { destination: b.destination });
        }
        let f;
        try {
          f = await this.stats.read();
        } catch (error) {
          this.logger.warn(`Could not read the outbox figures for the metrics: ${describeError(error)}`);
          return;
        }
        for (const d of f.outbox) {
          const attributes = { destination: d.destination };
          result.observe(pending, d.pending + d.inFlight, attributes);
          result.observe(oldest, (d.oldestPendingAgeMs ?? 0) / 1000, attributes);
        }
        for (const s of f.subscribers) {
          const attributes = { destination: s.destination, subscriber: s.subscriber };
          result.observe(subscriberPending, s.pending, attributes);
          result.observe(subscriberOldest, (s.oldestPendingAgeMs ?? 0) / 1000, attributes);
        }
        for (const d of f.deadLetters) result.observe(deadLetters, d.count, { destination: d.destination });
        for (const s of f.sagas) result.observe(sagas, s.count, { saga: s.name, status: s.status });
        result.observe(timeouts, f.timeoutsPending);
      },
      [pending, oldest, subscriberPending, subscriberOldest, deadLetters, sagas, timeouts, breakers],
    );
  }
}

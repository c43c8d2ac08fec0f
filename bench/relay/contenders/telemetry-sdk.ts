import { SpanKind, context, metrics, propagation, trace } from '@opentelemetry/api';
import type { Destination } from 'nestjs-flowbus';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/** The SDK registered in a relay process, with what it exported so far. */
export interface RegisteredSdk {
  /** Drops what the exporters hold (between rounds, so memory does not grow). */
  reset(): void;
  shutdown(): Promise<void>;
}

/**
 * Registers the OpenTelemetry SDK as an app would, exporting to memory: a batch span processor
 * and a metric reader collecting every second (which runs Flowbus's gauge callback, a query).
 * Every trace is sampled (the SDK's default) unless `ratio` is given: then a new trace is sampled
 * at that ratio and a child follows its parent (`ParentBased(TraceIdRatioBased(ratio))`, what a
 * busy production service usually runs).
 */
export function registerInMemorySdk(ratio?: number): RegisteredSdk {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter: spans })],
    ...(ratio === undefined ? {} : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) }),
  });
  const exported = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: exported, exportIntervalMillis: 1000 })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    reset: () => {
      spans.reset();
      exported.reset();
    },
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/**
 * `inner` with the least instrumentation a span per delivery attempt can have, made through the
 * registered SDK: a consumer span with the destination, type and attempt, its outcome set at the
 * end, and the attempt's duration recorded in a histogram — no trace context restored or sent,
 * no other attribute. Flowbus's own `deliver` spans do more (issue 14 asks for them); this is the
 * floor any design with a span per attempt pays, measured in the same run as Flowbus's.
 */
export function bareSpanDestination(inner: Destination): Destination {
  const tracer = trace.getTracer('bench-floor');
  const duration = metrics.getMeter('bench-floor').createHistogram('bench.delivery.duration', { unit: 's' });
  const ok = { 'messaging.destination.name': 'noop', outcome: 'success' };
  return {
    ...inner,
    deliver: async (message) => {
      const started = performance.now();
      const span = tracer.startSpan(`deliver ${message.destination}`, {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.destination.name': message.destination,
          'flowbus.message.type': message.type,
          'flowbus.attempt': message.attempts + 1,
        },
      });
      await inner.deliver(message);
      span.setAttribute('flowbus.outcome', 'success');
      span.end();
      duration.record((performance.now() - started) / 1000, ok);
    },
  };
}

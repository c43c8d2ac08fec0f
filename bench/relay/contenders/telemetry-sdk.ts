import { context, metrics, propagation, trace } from '@opentelemetry/api';
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

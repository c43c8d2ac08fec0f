import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { TracerProvider } from '@opentelemetry/sdk-trace';

/**
 * The OpenTelemetry SDK as an app would register it at start: Flowbus only uses the API. Metrics
 * are read by the Prometheus exporter on each `GET /metrics` (no server of its own); traces get
 * ids and travel in message headers, but this demo exports them nowhere (add a span processor
 * with an OTLP exporter to send them to a collector).
 */
export function startOpenTelemetry(): PrometheusExporter {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  // In one process the first registration wins (tests boot the demo more than once).
  if (metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }))) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new TracerProvider());
    registered = exporter;
  }
  return registered!;
}

let registered: PrometheusExporter | undefined;

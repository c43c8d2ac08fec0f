import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OutboxService } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { RecordingDestination } from './support/recording-destination.js';

/**
 * `@opentelemetry/api` installed, no SDK registered when the app starts (issue 14: then Flowbus
 * makes no span per delivery), and one registered later, as an app may do after its Nest app:
 * deliveries are traced from then on. The other telemetry spec registers its SDK before its app.
 */
let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
const sink = new RecordingDestination();
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
const STORED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  app = await createFlowbusApp({
    dataSource: ds,
    options: { destinations: { sink }, relay: { pollIntervalMs: 20, listen: false } },
  });
});

afterAll(async () => {
  await app?.close();
  await ds?.destroy();
  await db?.drop();
  await tracerProvider.shutdown();
});

const send = async (headers: Record<string, string>) => {
  const outbox = app.get(OutboxService);
  const [id] = await outbox.transaction((m) =>
    outbox.enqueue(m, { destination: 'sink', type: 'Pinged', payload: {}, headers }),
  );
  await waitFor(() => sink.ids().includes(id!));
  return sink.received.find((m) => m.id === id)!;
};

it('delivers without a span, passing the stored trace context on, until an SDK is registered; then traces each delivery', async () => {
  const before = await send({ traceparent: STORED });
  // No span of Flowbus's in between: the destination gets the enqueuing context as stored.
  expect(before.headers.traceparent).toBe(STORED);
  expect(spans.getFinishedSpans()).toHaveLength(0);

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);

  const after = await send({ traceparent: STORED });
  const deliver = spans.getFinishedSpans().find((s) => s.name === 'deliver sink');
  expect(deliver).toBeDefined();
  // The delivery span continues the stored trace, and the destination gets its own context.
  expect(deliver!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  expect(deliver!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
  expect(after.headers.traceparent).toBe(`00-${deliver!.spanContext().traceId}-${deliver!.spanContext().spanId}-01`);
});

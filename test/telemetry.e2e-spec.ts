import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { context, metrics, propagation, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import { connect as amqpConnect, type ConsumeMessage } from 'amqplib';
import { connect as natsConnect } from 'nats';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import {
  amqpDestination,
  amqpSource,
  EventBus,
  HandleEvent,
  httpDestination,
  natsDestination,
  NonRetryableError,
  OutboxService,
  Saga,
  SagaStep,
  type SagaContext,
} from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { RecordingDestination } from './support/recording-destination.js';

// The SDK a user would register: spans kept in memory, metrics read on demand.
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
class OnDemandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}
const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(tracerProvider);
metrics.setGlobalMeterProvider(meterProvider);

class OrderPlaced {
  constructor(readonly orderId: string) {}
}
class Pinged {
  constructor(readonly n: number) {}
}

@Saga({ name: 'traced-order' })
class TracedOrder {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(e: OrderPlaced, ctx: SagaContext<object>) {
    ctx.send('billing', 'ChargeCard', { orderId: e.orderId });
  }
}

@Injectable()
class FailingHandler {
  @HandleEvent(Pinged)
  onPing(): void {
    throw new Error('ping refused');
  }
}

class TracedIn {
  n!: number;
}

@Injectable()
class TracedInHandler {
  @HandleEvent(TracedIn, { durable: true })
  onTracedIn(): void {}
}

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
let server: Server;
const received: { headers: IncomingHttpHeaders; body: { id: string; headers: Record<string, string> } }[] = [];
const flaky = new RecordingDestination({
  maxAttempts: 2,
  backoff: { initialMs: 10, factor: 1, maxMs: 10, jitter: 'none' },
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body) as (typeof received)[number]['body'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  db = await createTestDatabase();
  ds = await db.dataSource();
  app = await createFlowbusApp({
    dataSource: ds,
    options: {
      destinations: { billing: httpDestination({ url }), flaky },
      relay: { pollIntervalMs: 20, listen: false },
    },
    providers: [TracedOrder, FailingHandler],
  });
});

afterAll(async () => {
  await app?.close();
  await ds?.destroy();
  await db?.drop();
  await new Promise((resolve) => server.close(resolve));
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

const byName = (name: string, traceId: string): ReadableSpan | undefined =>
  spans.getFinishedSpans().find((s) => s.name === name && s.spanContext().traceId === traceId);
const parentOf = (s: ReadableSpan | undefined) => s?.parentSpanContext?.spanId;

describe('traces', () => {
  it('runs one trace from the request through the outbox, the relay and a saga step to the HTTP receiver', async () => {
    const outbox = app.get(OutboxService);
    const orderId = `o-${randomBytes(4).toString('hex')}`;
    const tracer = trace.getTracer('test');
    let request!: Span;
    const [placedId] = await tracer.startActiveSpan('POST /orders', async (span) => {
      request = span;
      try {
        return await outbox.transaction((m) => outbox.publish(m, new OrderPlaced(orderId)));
      } finally {
        span.end();
      }
    });
    await waitFor(() => received.some((r) => r.body.headers['causation-id'] !== undefined));
    const traceId = request.spanContext().traceId;

    const publish = byName('publish outbox', traceId);
    const deliverLocal = byName('deliver local', traceId);
    const step = byName('saga traced-order step OrderPlaced', traceId);
    await waitFor(() => byName('deliver billing', traceId) !== undefined);
    const deliverBilling = byName('deliver billing', traceId)!;
    // request → publish → deliver (local) → saga step → deliver (billing) → receiver: the step's
    // messages are written with the step's save, in its span.
    expect(parentOf(publish)).toBe(request.spanContext().spanId);
    expect(parentOf(deliverLocal)).toBe(publish!.spanContext().spanId);
    expect(parentOf(step)).toBe(deliverLocal!.spanContext().spanId);
    expect(parentOf(deliverBilling)).toBe(step!.spanContext().spanId);

    const hook = received.find((r) => r.body.headers['causation-id'] !== undefined)!;
    const [, hookTrace, hookParent] = String(hook.headers.traceparent).split('-');
    expect(hookTrace).toBe(traceId);
    expect(hookParent).toBe(deliverBilling.spanContext().spanId);

    expect(deliverBilling.attributes).toMatchObject({
      'messaging.system': 'flowbus',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'billing',
      'messaging.message.id': hook.body.id,
      'flowbus.message.type': 'ChargeCard',
      'flowbus.attempt': 1,
      'flowbus.outcome': 'success',
    });
    expect(deliverLocal!.attributes).toMatchObject({
      'messaging.consumer.group.name': 'saga:traced-order',
      'messaging.message.id': placedId,
    });

    // Correlation and causation: the charge was caused by the OrderPlaced row, in its conversation.
    expect(hook.body.headers['causation-id']).toBe(placedId);
    expect(hook.body.headers['correlation-id']).toBe(placedId);
    expect(hook.body.headers['flowbus-saga']).toBe(`traced-order/${orderId}`);
    expect(hook.headers['x-flowbus-header-correlation-id']).toBe(placedId);
  });

  it('records a failed attempt on its span with the error', async () => {
    const outbox = app.get(OutboxService);
    flaky.failWith = () => new NonRetryableError('refused for the trace test');
    const [id] = await outbox.transaction((m) =>
      outbox.enqueue(m, { destination: 'flaky', type: 'Refused', payload: {} }),
    );
    await waitFor(() =>
      spans.getFinishedSpans().some((s) => s.name === 'deliver flaky' && s.attributes['messaging.message.id'] === id),
    );
    const span = spans
      .getFinishedSpans()
      .find((s) => s.attributes['messaging.message.id'] === id && s.name === 'deliver flaky')!;
    expect(span.status.code).toBe(2);
    expect(span.attributes['flowbus.outcome']).toBe('failure');
    expect(span.events.some((e) => e.name === 'exception')).toBe(true);
    flaky.failWith = () => undefined;
  });
});

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port, timeout: 1000 });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
const brokersUp = (await portOpen(5672)) && (await portOpen(4222));
if (!brokersUp) console.log('Skipping the AMQP/NATS trace test: RabbitMQ (5672) or NATS (4222) is not running');

(brokersUp ? describe : describe.skip)('trace context over AMQP and NATS', () => {
  it("sends the delivery span's traceparent in the AMQP and NATS message headers", async () => {
    const suffix = randomBytes(4).toString('hex');
    const exchange = `flowbus-trace-${suffix}`;
    const stream = `FLOWBUS_TRACE_${suffix}`;
    const subject = `flowbus.trace.${suffix}`;
    const fast = { initialMs: 10, factor: 1, maxMs: 10, jitter: 'none' } as const;
    const brokerApp = await createFlowbusApp({
      dataSource: ds,
      options: {
        destinations: {
          rabbit: amqpDestination({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange, backoff: fast }),
          nats: natsDestination({ servers: 'nats://127.0.0.1:4222', subject, stream, backoff: fast }),
        },
        relay: { pollIntervalMs: 20, listen: false },
      },
    });
    const rabbit = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
    const nc = await natsConnect({ servers: 'nats://127.0.0.1:4222' });
    try {
      const channel = await rabbit.createChannel();
      const q = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(q.queue, exchange, '#');
      const got: ConsumeMessage[] = [];
      await channel.consume(q.queue, (m) => m && got.push(m), { noAck: true });
      const outbox = brokerApp.get(OutboxService);
      const [toRabbit, toNats] = await outbox.transaction((m) =>
        outbox.enqueue(m, [
          { destination: 'rabbit', type: 'Traced', payload: {} },
          { destination: 'nats', type: 'Traced', payload: {} },
        ]),
      );
      const deliverSpan = (id: string) =>
        waitFor(() =>
          spans
            .getFinishedSpans()
            .find((s) => s.attributes['messaging.message.id'] === id && s.name.startsWith('deliver')),
        );
      const amqp = await waitFor(() => got.find((m) => m.properties.messageId === toRabbit));
      const amqpSpan = await deliverSpan(toRabbit!);
      expect(String(amqp.properties.headers?.traceparent)).toBe(
        `00-${amqpSpan.spanContext().traceId}-${amqpSpan.spanContext().spanId}-01`,
      );
      const natsSpan = await deliverSpan(toNats!);
      const stored = await (await nc.jetstreamManager()).streams.getMessage(stream, { last_by_subj: subject });
      expect(stored.header.get('traceparent')).toBe(
        `00-${natsSpan.spanContext().traceId}-${natsSpan.spanContext().spanId}-01`,
      );
      await (await nc.jetstreamManager()).streams.delete(stream);
      await channel.deleteExchange(exchange);
    } finally {
      await brokerApp.close();
      await rabbit.close();
      await nc.close();
    }
  });
});

type Points = DataPoint<number | Histogram>[];

async function points(name: string): Promise<Points> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    const metric = scope.metrics.find((m) => m.descriptor.name === name);
    if (metric) return metric.dataPoints as Points;
  }
  return [];
}

async function value(name: string, attributes: Record<string, string>): Promise<number> {
  const point = (await points(name)).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  if (!point) return 0;
  return typeof point.value === 'number' ? point.value : point.value.count;
}

describe('metrics', () => {
  it('counts deliveries by outcome, times them, and reads the backlog and dead letters from the database', async () => {
    const outbox = app.get(OutboxService);
    const before = {
      success: await value('flowbus.deliveries', { destination: 'flaky', outcome: 'success' }),
      retry: await value('flowbus.deliveries', { destination: 'flaky', outcome: 'retry' }),
      dead: await value('flowbus.deliveries', { destination: 'flaky', outcome: 'dead_letter' }),
      timed: await value('flowbus.delivery.duration', { destination: 'flaky', outcome: 'success' }),
      deadLetters: await value('flowbus.dead_letters', { destination: 'flaky' }),
    };
    await outbox.transaction((m) => outbox.enqueue(m, { destination: 'flaky', type: 'Fine', payload: {} }));
    await waitFor(
      async () =>
        (await value('flowbus.deliveries', { destination: 'flaky', outcome: 'success' })) === before.success + 1,
    );
    expect(await value('flowbus.delivery.duration', { destination: 'flaky', outcome: 'success' })).toBe(
      before.timed + 1,
    );

    flaky.failWith = (m) => (m.type === 'Doomed' ? new Error('down') : undefined);
    await outbox.transaction((m) => outbox.enqueue(m, { destination: 'flaky', type: 'Doomed', payload: {} }));
    await waitFor(
      async () =>
        (await value('flowbus.deliveries', { destination: 'flaky', outcome: 'dead_letter' })) === before.dead + 1,
    );
    expect(await value('flowbus.deliveries', { destination: 'flaky', outcome: 'retry' })).toBe(before.retry + 1);
    expect(await value('flowbus.dead_letters', { destination: 'flaky' })).toBe(before.deadLetters + 1);
    flaky.failWith = () => undefined;

    expect(await value('flowbus.breaker.state', { destination: 'flaky' })).toBe(0);
    expect(await value('flowbus.saga.instances', { saga: 'traced-order', status: 'running' })).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('shows a stuck backlog as pending rows and the age of the oldest', async () => {
    const outbox = app.get(OutboxService);
    await outbox.transaction((m) =>
      outbox.enqueue(m, {
        destination: 'flaky',
        type: 'Later',
        payload: {},
        availableAt: new Date(Date.now() + 3_600_000),
      }),
    );
    await waitFor(async () => (await value('flowbus.outbox.pending', { destination: 'flaky' })) >= 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await value('flowbus.outbox.oldest_pending_age', { destination: 'flaky' })).toBeGreaterThan(0);
  });

  it('counts failures of in-process bus handlers', async () => {
    const before = await value('flowbus.bus.handler_failures', { type: 'Pinged', handler: 'FailingHandler.onPing' });
    await app.get(EventBus).publish(new Pinged(1));
    expect(await value('flowbus.bus.handler_failures', { type: 'Pinged', handler: 'FailingHandler.onPing' })).toBe(
      before + 1,
    );
  });
});

const rabbitUp = await portOpen(5672);
if (!rabbitUp) console.log('Skipping the AMQP source span test: RabbitMQ (5672) is not running');

(rabbitUp ? describe : describe.skip)('spans of received messages', () => {
  it("makes a consumer span per message received from a source, a child of the sender's traceparent", async () => {
    const queue = `flowbus-trace-src-${randomBytes(4).toString('hex')}`;
    const sourceApp = await createFlowbusApp({
      dataSource: ds,
      options: {
        sources: {
          traced: amqpSource({ url: 'amqp://guest:guest@127.0.0.1:5672', queue, deadLetterQueue: false }),
        },
        relay: { pollIntervalMs: 20, listen: false },
        timeouts: { enabled: false },
      },
      providers: [TracedInHandler],
    });
    const rabbit = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
    try {
      const sender = trace.getTracer('test').startSpan('send');
      const traceparent = `00-${sender.spanContext().traceId}-${sender.spanContext().spanId}-01`;
      sender.end();
      const id = `received-${randomBytes(4).toString('hex')}`;
      const channel = await rabbit.createChannel();
      channel.sendToQueue(queue, Buffer.from(JSON.stringify({ n: 1 })), {
        messageId: id,
        type: 'TracedIn',
        headers: { traceparent, 'correlation-id': 'conv-1' },
      });
      const span = await waitFor(() =>
        spans
          .getFinishedSpans()
          .find((s) => s.name === `receive ${queue}` && s.attributes['messaging.message.id'] === id),
      );
      expect(span.spanContext().traceId).toBe(sender.spanContext().traceId);
      expect(parentOf(span)).toBe(sender.spanContext().spanId);
      expect(span.kind).toBe(4); // CONSUMER
      expect(span.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'receive',
        'messaging.destination.name': queue,
        'messaging.batch.message_count': 1,
        'messaging.message.conversation_id': 'conv-1',
        'flowbus.source': 'traced',
        'flowbus.message.type': 'TracedIn',
        'flowbus.outcome': 'stored',
      });
      // The stored message's delivery to the durable handler continues the trace from the receive span.
      const deliver = await waitFor(() =>
        spans.getFinishedSpans().find((s) => s.name === 'deliver local' && parentOf(s) === span.spanContext().spanId),
      );
      expect(deliver.spanContext().traceId).toBe(sender.spanContext().traceId);
      expect(deliver.attributes['flowbus.outcome']).toBe('success');
      await channel.deleteQueue(queue);
    } finally {
      await sourceApp.close();
      await rabbit.close();
    }
  });
});

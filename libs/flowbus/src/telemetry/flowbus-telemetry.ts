import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import type { DeliveryMessage } from '../relay/destination.interface.js';
import { FlowbusMetrics } from './flowbus-metrics.js';
import {
  CAUSATION_HEADER,
  CORRELATION_HEADER,
  currentScope,
  runInScope,
  SAGA_HEADER,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
} from './message-scope.js';
import { loadOtelApi, type OtelApi } from './otel-api.js';

/** `messaging.system` of Flowbus's spans. */
const SYSTEM = 'flowbus';
/** SpanKind and SpanStatusCode values of the API (enums, read here without importing it). */
const PRODUCER = 3;
const CONSUMER = 4;
const INTERNAL = 0;
const ERROR = 2;

/**
 * What the enqueue's caller may do with its span. Flowbus's declarations name no type of
 * `@opentelemetry/api`, so apps without it compile them (no `skipLibCheck` needed).
 */
export interface EnqueueSpan {
  setAttributes(attributes: Record<string, string | number>): unknown;
}

/** The receive spans of a batch taken from a source. */
export interface ReceivedSpans {
  /** Ends the span of the `i`th message with what became of it. */
  end(i: number, outcome: 'stored' | 'duplicate' | 'refused' | 'failure', reason?: string): void;
}

/** The message a saga step or timeout runs for, as the batch passes it. */
export interface StepCause {
  readonly id: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Traces and message context. Every message written gets `correlation-id`, `causation-id` (the
 * message whose handler or step wrote it) and the W3C trace context of the span that wrote it in
 * its headers; every delivery attempt runs in a span whose parent is restored from them, and the
 * destination receives the delivery span's `traceparent`. Spans go through `@opentelemetry/api`
 * (tracer `nestjs-flowbus`) when it is installed and `telemetry.enabled`; else only the ids are written.
 * @internal
 */
@Injectable()
export class FlowbusTelemetry implements OnModuleInit {
  private api: typeof OtelApi | undefined;
  private tracer: Tracer | undefined;
  /** The API's tracer provider of an app that registered none (see sdkTracing). */
  private noopProvider: unknown;

  constructor(
    readonly metrics: FlowbusMetrics,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    this.api = await loadOtelApi(this.options);
    this.tracer = this.api?.trace.getTracer('nestjs-flowbus');
    // A proxy without a delegate hands out the API's shared no-op provider.
    const Proxy = this.api?.ProxyTracerProvider;
    this.noopProvider = typeof Proxy === 'function' ? new Proxy().getDelegate() : undefined;
  }

  /**
   * A tracer provider (an SDK) is registered now: the API's global provider is a proxy whose
   * delegate is the registered one, else the no-op. Checked per delivery, as an SDK may be
   * registered after the app started. Without the proxy class (a future API), always true.
   */
  private sdkTracing(api: typeof OtelApi): boolean {
    const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown };
    return this.noopProvider === undefined || typeof provider.getDelegate !== 'function'
      ? true
      : provider.getDelegate() !== this.noopProvider;
  }

  /** Spans are made (`@opentelemetry/api` is installed). */
  get tracing(): boolean {
    return this.tracer !== undefined;
  }

  /**
   * The headers JSON of the rows of one enqueue or publish call: the caller's headers plus the
   * correlation, causation and trace context. A call with no cause starts a conversation, whose
   * id is the first row's id (`firstId`, given when the first row is built).
   */
  stamp(headers: Readonly<Record<string, string>> | undefined): (firstId: string) => string {
    const scope = currentScope();
    let json: string | undefined;
    return (firstId) => {
      if (json !== undefined) return json;
      const h: Record<string, string> = { ...headers };
      h[CORRELATION_HEADER] ??= scope?.correlationId ?? firstId;
      if (scope?.causationId !== undefined) h[CAUSATION_HEADER] ??= scope.causationId;
      if (scope?.saga !== undefined) h[SAGA_HEADER] ??= scope.saga;
      if (this.api && h[TRACEPARENT_HEADER] === undefined) this.api.propagation.inject(this.api.context.active(), h);
      return (json = JSON.stringify(h));
    };
  }

  /** Runs an enqueue or publish in a producer span; `describe` names what was written once known. */
  async enqueue<T extends readonly unknown[]>(
    operation: 'enqueue' | 'publish',
    work: (span: EnqueueSpan | undefined) => Promise<T>,
  ): Promise<T> {
    if (!this.tracer) return work(undefined);
    return this.inSpan(`${operation} outbox`, PRODUCER, { 'messaging.operation.type': 'send' }, undefined, work);
  }

  /** Sets the attributes of an enqueue span from the rows written. */
  written(
    span: EnqueueSpan | undefined,
    rows: readonly { id: string; destination: string | null; type: string }[],
  ): void {
    if (!span || rows.length === 0) return;
    // A log row for every subscriber of its type has no destination: `local` then.
    const destinations = [...new Set(rows.map((r) => r.destination ?? 'local'))];
    span.setAttributes({
      'messaging.destination.name': destinations.join(','),
      'messaging.batch.message_count': rows.length,
      'messaging.message.id': rows[0]!.id,
      'flowbus.message.type': [...new Set(rows.map((r) => r.type))].join(','),
    });
  }

  /** Runs an in-process bus publish in a span. */
  publish<T>(eventType: string, work: () => Promise<T>): Promise<T> {
    if (!this.tracer) return work();
    return this.inSpan(
      `publish ${eventType}`,
      INTERNAL,
      { 'messaging.operation.type': 'publish', 'flowbus.message.type': eventType },
      undefined,
      work,
    );
  }

  /**
   * One delivery attempt: a consumer span whose parent is the trace context stored with the
   * message, and whose own context replaces it in the headers the destination sends and is the
   * active context while it runs.
   *
   * This runs for every row the relay delivers, so it is written for the SDK's cost per call
   * (issue 14 allows the SDK 15% of the relay's drain rate): the span is started with an explicit
   * parent rather than in a nested active context, its attributes are one object literal (the SDK
   * validates and copies each one twice), the headers are copied once without the stored trace
   * context, and the attempt is counted without a metrics call (see FlowbusMetrics.delivered).
   */
  deliver(message: DeliveryMessage, send: (message: DeliveryMessage) => Promise<void>): Promise<void> {
    const api = this.api;
    const tracer = this.tracer;
    if (!api || !tracer || !this.sdkTracing(api)) {
      // No SDK: no span would be recorded, so none is made (issue 14: the API without an SDK
      // within 3% of no instrumentation); the stored trace context goes to the destination as is.
      if (!this.metrics.timing) return send(message);
      const started = performance.now();
      return send(message).then(
        () => this.metrics.deliveryDuration(message.destination, (performance.now() - started) / 1000, true),
        (error: unknown) => {
          this.metrics.deliveryDuration(message.destination, (performance.now() - started) / 1000, false);
          throw error;
        },
      );
    }
    const started = performance.now();
    const headers = message.headers;
    const parent = api.propagation.extract(api.ROOT_CONTEXT, headers);
    const attributes: Attributes = {
      'messaging.system': SYSTEM,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'deliver',
      'messaging.destination.name': message.destination,
      'messaging.message.id': message.id,
      'flowbus.message.type': message.type,
      'flowbus.attempt': message.attempts + 1,
    };
    if (message.subscriber) attributes['messaging.consumer.group.name'] = message.subscriber;
    const correlation = headers[CORRELATION_HEADER];
    if (correlation) attributes['messaging.message.conversation_id'] = correlation;
    const span = tracer.startSpan(`deliver ${message.destination}`, { kind: CONSUMER, attributes }, parent);
    const active = api.trace.setSpan(parent, span);
    const own = withoutTraceContext(headers);
    api.propagation.inject(active, own);
    let sent: Promise<void>;
    try {
      sent = api.context.with(active, send, undefined, { ...message, headers: own });
    } catch (error) {
      sent = Promise.reject(error);
    }
    return sent.then(
      () => {
        this.metrics.deliveryDuration(message.destination, (performance.now() - started) / 1000, true);
        span.setAttribute('flowbus.outcome', 'success');
        span.end();
      },
      (error: unknown) => {
        this.metrics.deliveryDuration(message.destination, (performance.now() - started) / 1000, false);
        span.setAttribute('flowbus.outcome', 'failure');
        failed(span, error);
        span.end();
        throw error;
      },
    );
  }

  /**
   * Runs a saga step or fired timeout: in a span (a child of the delivery that brought its message,
   * else of the current context), with its message as the cause of what it writes. The messages a
   * step writes carry the correlation id of the message that triggered it, else the saga's.
   */
  step<T>(
    what: { saga: string; correlationId: string; handler: string; type: string; timeout: boolean },
    cause: StepCause | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    const scope = {
      causationId: cause?.id ?? currentScope()?.causationId,
      correlationId: cause?.headers[CORRELATION_HEADER] ?? currentScope()?.correlationId ?? what.correlationId,
      saga: `${what.saga}/${what.correlationId}`,
    };
    if (!this.api || !this.tracer) return runInScope(scope, work);
    const parent = cause ? this.api.propagation.extract(this.api.context.active(), cause.headers) : undefined;
    const name = `saga ${what.saga} ${what.timeout ? 'timeout' : 'step'} ${what.type}`;
    const attributes: Attributes = {
      'flowbus.saga.name': what.saga,
      'flowbus.saga.correlation_id': what.correlationId,
      'flowbus.saga.handler': what.handler,
      'flowbus.message.type': what.type,
    };
    if (cause) attributes['messaging.message.id'] = cause.id;
    return this.inSpan(name, INTERNAL, attributes, parent, () => runInScope(scope, work));
  }

  /**
   * Consumer spans of the messages of one batch received from a source, each a child of the
   * trace context in its headers (the sender's), whose own context replaces it in the headers
   * stored (so the deliveries of the message continue the trace). Undefined without tracing.
   */
  received(
    source: { name: string; system: string; address: string },
    messages: { id: string; type: string; headers?: Record<string, string> }[],
  ): ReceivedSpans | undefined {
    const api = this.api;
    const tracer = this.tracer;
    if (!api || !tracer) return undefined;
    const spans = messages.map((m) => {
      const headers = m.headers ?? {};
      const parent = api.propagation.extract(api.ROOT_CONTEXT, headers);
      const attributes: Attributes = {
        'messaging.system': source.system,
        'messaging.operation.type': 'receive',
        'messaging.operation.name': 'receive',
        'messaging.destination.name': source.address,
        'messaging.message.id': m.id,
        'messaging.batch.message_count': messages.length,
        'flowbus.source': source.name,
        'flowbus.message.type': m.type,
      };
      const correlation = headers[CORRELATION_HEADER];
      if (correlation) attributes['messaging.message.conversation_id'] = correlation;
      const span = tracer.startSpan(`receive ${source.address}`, { kind: CONSUMER, attributes }, parent);
      const own = withoutTraceContext(headers);
      api.propagation.inject(api.trace.setSpan(parent, span), own);
      m.headers = own;
      return span;
    });
    return {
      end(i, outcome, reason) {
        const span = spans[i]!;
        span.setAttribute('flowbus.outcome', outcome);
        if (outcome === 'refused' || outcome === 'failure') span.setStatus({ code: ERROR, message: reason });
        span.end();
      },
    };
  }

  private inSpan<T>(
    name: string,
    kind: number,
    attributes: Attributes,
    parent: Context | undefined,
    work: (span: Span) => Promise<T>,
  ): Promise<T> {
    const api = this.api!;
    const ctx = parent ?? api.context.active();
    const span = this.tracer!.startSpan(name, { kind, attributes: { 'messaging.system': SYSTEM, ...attributes } }, ctx);
    return api.context.with(api.trace.setSpan(ctx, span), async () => {
      try {
        return await work(span);
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

/** Marks a span failed with its error. */
function failed(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: ERROR, message: (error as Error)?.message });
}

/** A copy of message headers without the stored trace context (the span's own replaces it). */
function withoutTraceContext(headers: Readonly<Record<string, string>>): Record<string, string> {
  const own: Record<string, string> = {};
  // A copy without `delete`, which would turn the object into a slow dictionary.
  for (const key in headers) {
    if (key !== TRACEPARENT_HEADER && key !== TRACESTATE_HEADER) own[key] = headers[key]!;
  }
  return own;
}

import { AsyncLocalStorage } from 'node:async_hooks';

/** Message headers Flowbus writes itself (in the outbox row's `headers`, sent by every destination). */
export const CORRELATION_HEADER = 'correlation-id';
export const CAUSATION_HEADER = 'causation-id';
/** The saga instance (`name/correlationId`) whose step wrote the message. */
export const SAGA_HEADER = 'flowbus-saga';
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/** The message a durable handler or saga step is running for: what it writes is caused by it. */
export interface MessageScope {
  /** Id of the message being handled; undefined for a saga step with no message (bus, timeout). */
  readonly causationId: string | undefined;
  /** The conversation the handled message belongs to. */
  readonly correlationId: string | undefined;
  /** `name/correlationId` of the saga instance running a step. */
  readonly saga?: string;
}

const storage = new AsyncLocalStorage<MessageScope>();

/** Runs `work` with `scope` as the cause of every message it writes. */
export function runInScope<T>(scope: MessageScope, work: () => T): T {
  return storage.run(scope, work);
}

export function currentScope(): MessageScope | undefined {
  return storage.getStore();
}

/** The scope of a handler running for a delivered message with these `headers`. */
export function scopeOfMessage(id: string, headers: Readonly<Record<string, string>> | undefined): MessageScope {
  return { causationId: id, correlationId: headers?.[CORRELATION_HEADER] ?? id };
}

/** A short description of a message for log lines: id, type, target, correlation and trace ids. */
export function describeMessage(m: {
  id: string;
  type: string;
  destination: string;
  subscriber?: string;
  headers?: Readonly<Record<string, string>> | null;
}): string {
  const target = m.subscriber ? `${m.destination}/${m.subscriber}` : m.destination;
  const correlation = m.headers?.[CORRELATION_HEADER];
  const traceId = traceIdOf(m.headers?.[TRACEPARENT_HEADER]);
  return (
    `message ${m.id} (${m.type}) to ${target}` +
    (correlation ? ` correlation ${correlation}` : '') +
    (traceId ? ` trace ${traceId}` : '')
  );
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (!traceparent) return undefined;
  const parts = traceparent.split('-');
  return parts.length >= 4 && parts[1]!.length === 32 ? parts[1] : undefined;
}

import type { Type } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { PayloadSerializer } from '../outbox/payload-serializer.interface.js';
import type { Destination } from '../relay/destination.interface.js';
import type { Source } from '../sources/source.interface.js';
import type { Clock } from './clock.js';

/** Options of the in-process event bus. */
export interface BusOptions {
  /**
   * When true, `publish` rejects with a `HandlerFailuresError` listing every failed handler, after
   * all handlers settled. When false, failures are reported in the `PublishResult` only.
   * @default false
   */
  propagateHandlerExceptions?: boolean;
  /**
   * Log each handler failure (handler, event type, error) with Nest's `Logger`.
   * @default true
   */
  logHandlerExceptions?: boolean;
  /**
   * A handler that has not settled after this many milliseconds is recorded as failed with a
   * `HandlerTimeoutError`, so `publish` never hangs on it. Unset: no limit.
   * @default undefined
   */
  handlerTimeoutMs?: number;
}

/** Exponential backoff of failed deliveries: `min(maxMs, initialMs * factor^(attempt-1))`, jittered. */
export interface BackoffOptions {
  /** Delay before the first retry. @default 1000 */
  initialMs?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Upper bound of a delay. @default 300000 */
  maxMs?: number;
  /**
   * `full`: uniform in [0, delay]; `equal`: uniform in [delay/2, delay]; `none`: the delay itself.
   * @default 'full'
   */
  jitter?: 'full' | 'equal' | 'none';
}

/** Circuit breaker of one destination (opossum). */
export interface CircuitBreakerOptions {
  /** A delivery slower than this counts as a failure. @default 10000 */
  timeoutMs?: number;
  /** Failure percentage over the rolling window that opens the breaker. @default 50 */
  errorThresholdPercentage?: number;
  /**
   * Longest time the breaker stays open before letting one probe through (half-open). The pause
   * starts at `initialResetTimeoutMs` and grows with the outage (see `resetTimeoutRatio`) up to this.
   * @default 30000
   */
  resetTimeoutMs?: number;
  /** Pause before the first probe after the breaker opens; at most `resetTimeoutMs`. @default 1000 */
  initialResetTimeoutMs?: number;
  /**
   * After a failed probe, the next pause is this fraction of the time the destination has been
   * down so far (clamped to `initialResetTimeoutMs`..`resetTimeoutMs`): a 20 s outage is probed
   * every 2 s at its end, so deliveries resume within about a tenth of the outage.
   * @default 0.1
   */
  resetTimeoutRatio?: number;
  /**
   * Failed runs in a row that open the breaker, once `volumeThreshold` deliveries are in the
   * window. A run starts with a failure (the relay then claims nothing more for the destination)
   * and fails when no delivery in flight succeeds; only its first failure costs an attempt. A
   * success resets the count. So the breaker opens after a few attempts when a busy destination
   * goes down, whatever its successes before, and not on a burst of messages failing while the
   * destination answers others.
   * @default 3
   */
  consecutiveFailures?: number;
  /** Minimum deliveries in the window before the breaker may open. @default 5 */
  volumeThreshold?: number;
  /** Length of the rolling statistics window. @default 10000 */
  rollingCountTimeoutMs?: number;
}

/** Options of the outbox relay. */
export interface RelayOptions {
  /** Run a relay in this app. Producers work without it; another instance may relay. @default true */
  enabled?: boolean;
  /** Fallback poll when no wake-up arrives. @default 1000 */
  pollIntervalMs?: number;
  /** Rows read per page of the log (with `storage: 'table'`: rows claimed per round trip). @default 500 (100 with `storage: 'table'`) */
  batchSize?: number;
  /** How long a claimed row stays reserved; an expired lease is claimed again. @default 30000 */
  leaseMs?: number;
  /** Deliveries before a message is dead-lettered. @default 10 */
  maxAttempts?: number;
  /** Retry backoff. */
  backoff?: BackoffOptions;
  /** Deliveries in flight at once, over all destinations. @default twice `batchSize` (200): the next claim is made while the last one is delivered */
  concurrency?: number;
  /** On shutdown, how long to wait for deliveries in flight before releasing their rows. @default 10000 */
  shutdownTimeoutMs?: number;
  /** Delivered rows and inbox rows older than this are deleted. @default 604800000 (7 days) */
  retentionMs?: number;
  /** How often the retention sweep runs. @default 60000 */
  retentionIntervalMs?: number;
  /** Rows deleted per retention statement. @default 1000 */
  retentionBatchSize?: number;
  /**
   * `pg_notify` in each producing transaction so relays in other instances wake at once. Costs the
   * producers (a NOTIFY serialises commits); the in-process wake-up is free and always on.
   * @default false
   */
  notify?: boolean;
  /** LISTEN for other instances' notifications. @default true */
  listen?: boolean;
  /**
   * Where `OutboxService.enqueue`/`publish` write and the relay reads: `'log'`, one `flowbus_log`
   * row per message, read through snapshot ticks and a cursor per subscriber, with failed
   * deliveries moved to `flowbus_outbox` for their retries; `'table'` (0.1's storage), one
   * `flowbus_outbox` row per delivery, claimed and marked in place. Every app on one database must
   * use the same value.
   * @default 'log'
   */
  storage?: 'table' | 'log';
}

/** Durable routing of an event type to a destination, used by `OutboxService.publish`. */
export interface RouteOptions {
  /** Event class or event type name. */
  event: Type<object> | string;
  /** Name of a configured destination. */
  destination: string;
}

/** Options of the saga timeout scheduler. */
export interface TimeoutOptions {
  /** Fire saga timeouts in this app (any instance may; each fires once). @default true */
  enabled?: boolean;
  /** How often due timeouts are looked for. @default 1000 */
  pollIntervalMs?: number;
  /** Timeouts fired per round trip. @default 100 */
  batchSize?: number;
}

/** Options of Flowbus's traces and metrics. */
export interface TelemetryOptions {
  /**
   * Make spans and metrics through `@opentelemetry/api` when it is installed; `false` never loads
   * it (correlation and causation ids are still written). @default true
   */
  enabled?: boolean;
}

/** Options of `FlowbusModule.forRoot` / `forRootAsync`. Every field is optional. */
export interface FlowbusOptions {
  /** TypeORM DataSource to use. @default the DataSource `@nestjs/typeorm` provides */
  dataSource?: DataSource;
  /** PostgreSQL schema of the `flowbus_` tables. @default 'public' */
  schema?: string;
  /** Apply Flowbus's migrations on start (under an advisory lock). @default true */
  migrationsRun?: boolean;
  /** In-process bus. */
  bus?: BusOptions;
  /** Outbox relay. */
  relay?: RelayOptions;
  /** Named delivery targets; `local` (durable in-process handlers) is always present. */
  destinations?: Record<string, Destination>;
  /** Durable routes of event types to destinations. */
  routes?: RouteOptions[];
  /**
   * Named brokers to consume from (`amqpSource()`, `natsSource()`): each received message is
   * stored for the durable handlers and saga steps of its type, deduplicated by its id, and
   * acknowledged after commit. The name identifies the source in the deduplication table: keep it
   * stable. @default {}
   */
  sources?: Record<string, Source>;
  /** Default circuit breaker of every destination (a destination may override it). */
  circuitBreaker?: CircuitBreakerOptions;
  /** Saga timeout scheduler. */
  timeouts?: TimeoutOptions;
  /** Traces and metrics (OpenTelemetry). */
  telemetry?: TelemetryOptions;
  /** Time source; tests pass a controllable one. @default the system clock */
  clock?: Clock;
  /**
   * How payloads are written to the outbox and rebuilt for durable handlers, saga steps and
   * timeouts. @default JSON, rebuilt with class-transformer's `plainToInstance` when installed
   */
  serializer?: PayloadSerializer;
}

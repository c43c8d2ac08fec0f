import { DataSource } from 'typeorm';
import { eventTypeOf } from '../bus/event-type.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { PayloadSerializer } from '../outbox/payload-serializer.interface.js';
import type { Destination } from '../relay/destination.interface.js';
import type { Source } from '../sources/source.interface.js';
import { systemClock, type Clock } from './clock.js';
import type { FlowbusOptions } from './flowbus-options.interface.js';
import { bool, join, num, oneOf, onlyKnownKeys, optionalNum, section, str, typeName } from './option-readers.js';
import type {
  ResolvedBackoff,
  ResolvedBreaker,
  ResolvedDestination,
  ResolvedOptions,
} from './resolved-options.interface.js';

/** Name of the built-in destination that runs durable in-process handlers and saga steps. */
export const LOCAL_DESTINATION = 'local';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const DESTINATION_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

const ms = { min: 1, integer: true };

/**
 * Merges defaults into the user's options and validates every field, failing with an
 * `InvalidOptionsError` that names the field and the rule.
 */
export function resolveOptions(input: FlowbusOptions | undefined): ResolvedOptions {
  const o = section(input, '');
  onlyKnownKeys(o, '', [
    'dataSource',
    'schema',
    'migrationsRun',
    'bus',
    'relay',
    'destinations',
    'routes',
    'sources',
    'circuitBreaker',
    'timeouts',
    'telemetry',
    'clock',
    'serializer',
  ]);

  if (o.dataSource !== undefined && !(o.dataSource instanceof DataSource)) {
    throw new InvalidOptionsError('dataSource', `must be a TypeORM DataSource, got ${typeName(o.dataSource)}`);
  }

  const bus = section(o.bus, 'bus');
  onlyKnownKeys(bus, 'bus', ['propagateHandlerExceptions', 'logHandlerExceptions', 'handlerTimeoutMs']);

  const relay = section(o.relay, 'relay');
  onlyKnownKeys(relay, 'relay', [
    'enabled',
    'pollIntervalMs',
    'batchSize',
    'leaseMs',
    'maxAttempts',
    'backoff',
    'concurrency',
    'shutdownTimeoutMs',
    'retentionMs',
    'retentionIntervalMs',
    'retentionBatchSize',
    'notify',
    'listen',
    'storage',
  ]);
  const maxAttempts = num(relay.maxAttempts, 'relay.maxAttempts', 10, { min: 1, max: 1000, integer: true });
  const backoff = resolveBackoff(relay.backoff, 'relay.backoff', DEFAULT_BACKOFF);
  const circuitBreaker = resolveBreaker(o.circuitBreaker, 'circuitBreaker', DEFAULT_BREAKER);
  const storage = oneOf(relay.storage, 'relay.storage', ['table', 'log'] as const, 'log');
  // The log is read in pages that cost one cheap index walk each: 500 measured fastest (bench/RESULTS.md).
  const batchSize = num(relay.batchSize, 'relay.batchSize', storage === 'log' ? 500 : 100, {
    min: 1,
    max: 10_000,
    integer: true,
  });
  const leaseMs = num(relay.leaseMs, 'relay.leaseMs', 30_000, { min: 100, integer: true });

  const timeouts = section(o.timeouts, 'timeouts');
  onlyKnownKeys(timeouts, 'timeouts', ['enabled', 'pollIntervalMs', 'batchSize']);
  const telemetry = section(o.telemetry, 'telemetry');
  onlyKnownKeys(telemetry, 'telemetry', ['enabled']);

  const destinations = resolveDestinations(o.destinations, maxAttempts, backoff, circuitBreaker);

  return {
    dataSource: o.dataSource as DataSource | undefined,
    schema: str(o.schema, 'schema', 'public', IDENTIFIER),
    migrationsRun: bool(o.migrationsRun, 'migrationsRun', true),
    bus: {
      propagateHandlerExceptions: bool(bus.propagateHandlerExceptions, 'bus.propagateHandlerExceptions', false),
      logHandlerExceptions: bool(bus.logHandlerExceptions, 'bus.logHandlerExceptions', true),
      handlerTimeoutMs: optionalNum(bus.handlerTimeoutMs, 'bus.handlerTimeoutMs', { ...ms, max: 2_147_483_647 }),
    },
    relay: {
      enabled: bool(relay.enabled, 'relay.enabled', true),
      pollIntervalMs: num(relay.pollIntervalMs, 'relay.pollIntervalMs', 1000, { min: 10, integer: true }),
      batchSize,
      leaseMs,
      maxAttempts,
      backoff,
      // Twice a claim: the next claim is made while the last one's rows are being delivered.
      concurrency: num(relay.concurrency, 'relay.concurrency', Math.min(2 * batchSize, 10_000), {
        min: 1,
        max: 10_000,
        integer: true,
      }),
      shutdownTimeoutMs: num(relay.shutdownTimeoutMs, 'relay.shutdownTimeoutMs', 10_000, { min: 0, integer: true }),
      retentionMs: num(relay.retentionMs, 'relay.retentionMs', 7 * DAY_MS, { min: 0, integer: true }),
      retentionIntervalMs: num(relay.retentionIntervalMs, 'relay.retentionIntervalMs', 60_000, {
        min: 100,
        integer: true,
      }),
      retentionBatchSize: num(relay.retentionBatchSize, 'relay.retentionBatchSize', 1000, {
        min: 1,
        max: 100_000,
        integer: true,
      }),
      notify: bool(relay.notify, 'relay.notify', false),
      listen: bool(relay.listen, 'relay.listen', true),
      storage,
    },
    destinations,
    routes: resolveRoutes(o.routes, destinations),
    sources: resolveSources(o.sources),
    circuitBreaker,
    timeouts: {
      enabled: bool(timeouts.enabled, 'timeouts.enabled', true),
      pollIntervalMs: num(timeouts.pollIntervalMs, 'timeouts.pollIntervalMs', 1000, { min: 10, integer: true }),
      batchSize: num(timeouts.batchSize, 'timeouts.batchSize', 100, { min: 1, max: 10_000, integer: true }),
    },
    telemetry: { enabled: bool(telemetry.enabled, 'telemetry.enabled', true) },
    clock: resolveClock(o.clock),
    serializer: resolveSerializer(o.serializer),
  };
}

function resolveSerializer(value: unknown): PayloadSerializer {
  const serializer = section(value, 'serializer');
  onlyKnownKeys(serializer, 'serializer', ['serialize', 'deserialize']);
  for (const key of ['serialize', 'deserialize'] as const) {
    const fn = serializer[key];
    if (fn !== undefined && typeof fn !== 'function') {
      throw new InvalidOptionsError(`serializer.${key}`, `must be a function, got ${typeName(fn)}`);
    }
  }
  return serializer as PayloadSerializer;
}

const DEFAULT_BACKOFF: ResolvedBackoff = { initialMs: 1000, factor: 2, maxMs: 300_000, jitter: 'full' };

const DEFAULT_BREAKER: ResolvedBreaker = {
  timeoutMs: 10_000,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 30_000,
  initialResetTimeoutMs: 1000,
  resetTimeoutRatio: 0.1,
  consecutiveFailures: 3,
  volumeThreshold: 5,
  rollingCountTimeoutMs: 10_000,
};

function resolveBackoff(value: unknown, field: string, base: ResolvedBackoff): ResolvedBackoff {
  const b = section(value, field);
  onlyKnownKeys(b, field, ['initialMs', 'factor', 'maxMs', 'jitter']);
  const initialMs = num(b.initialMs, `${field}.initialMs`, base.initialMs, { min: 0, integer: true });
  const maxMs = num(b.maxMs, `${field}.maxMs`, Math.max(base.maxMs, initialMs), { min: 0, integer: true });
  if (maxMs < initialMs) {
    throw new InvalidOptionsError(`${field}.maxMs`, `must be >= initialMs (${initialMs}), got ${maxMs}`);
  }
  return {
    initialMs,
    factor: num(b.factor, `${field}.factor`, base.factor, { min: 1, max: 100 }),
    maxMs,
    jitter: oneOf(b.jitter, `${field}.jitter`, ['full', 'equal', 'none'] as const, base.jitter),
  };
}

function resolveBreaker(value: unknown, field: string, base: ResolvedBreaker): ResolvedBreaker {
  const c = section(value, field);
  onlyKnownKeys(c, field, [
    'timeoutMs',
    'errorThresholdPercentage',
    'resetTimeoutMs',
    'initialResetTimeoutMs',
    'resetTimeoutRatio',
    'consecutiveFailures',
    'volumeThreshold',
    'rollingCountTimeoutMs',
  ]);
  const resetTimeoutMs = num(c.resetTimeoutMs, `${field}.resetTimeoutMs`, base.resetTimeoutMs, ms);
  const initialResetTimeoutMs = num(
    c.initialResetTimeoutMs,
    `${field}.initialResetTimeoutMs`,
    Math.min(base.initialResetTimeoutMs, resetTimeoutMs),
    ms,
  );
  if (initialResetTimeoutMs > resetTimeoutMs) {
    throw new InvalidOptionsError(
      `${field}.initialResetTimeoutMs`,
      `must be <= ${field}.resetTimeoutMs (${resetTimeoutMs}), got ${initialResetTimeoutMs}`,
    );
  }
  return {
    timeoutMs: num(c.timeoutMs, `${field}.timeoutMs`, base.timeoutMs, ms),
    errorThresholdPercentage: num(
      c.errorThresholdPercentage,
      `${field}.errorThresholdPercentage`,
      base.errorThresholdPercentage,
      { min: 1, max: 100 },
    ),
    resetTimeoutMs,
    initialResetTimeoutMs,
    resetTimeoutRatio: num(c.resetTimeoutRatio, `${field}.resetTimeoutRatio`, base.resetTimeoutRatio, {
      min: 0,
      max: 10,
    }),
    consecutiveFailures: num(c.consecutiveFailures, `${field}.consecutiveFailures`, base.consecutiveFailures, {
      min: 1,
      integer: true,
    }),
    volumeThreshold: num(c.volumeThreshold, `${field}.volumeThreshold`, base.volumeThreshold, {
      min: 0,
      integer: true,
    }),
    rollingCountTimeoutMs: num(c.rollingCountTimeoutMs, `${field}.rollingCountTimeoutMs`, base.rollingCountTimeoutMs, {
      min: 10,
      integer: true,
    }),
  };
}

function resolveDestinations(
  value: unknown,
  maxAttempts: number,
  backoff: ResolvedBackoff,
  breaker: ResolvedBreaker,
): ReadonlyMap<string, ResolvedDestination> {
  const map = new Map<string, ResolvedDestination>();
  // Local handlers fail because of a bug or a bad payload, not an outage: no breaker by default.
  map.set(LOCAL_DESTINATION, { name: LOCAL_DESTINATION, maxAttempts, backoff, circuitBreaker: false });
  const given = section(value, 'destinations');
  for (const [name, d] of Object.entries(given)) {
    const field = join('destinations', name);
    if (name === LOCAL_DESTINATION)
      throw new InvalidOptionsError(field, `"${LOCAL_DESTINATION}" is built in and cannot be replaced`);
    if (!DESTINATION_NAME.test(name))
      throw new InvalidOptionsError(field, `name must match ${String(DESTINATION_NAME)}`);
    const dest = section(d, field);
    if (typeof dest.deliver !== 'function') {
      throw new InvalidOptionsError(
        `${field}.deliver`,
        'must be a function (message) => Promise<void>; use httpDestination(), amqpDestination(), natsDestination() or your own',
      );
    }
    map.set(name, {
      name,
      destination: d as Destination,
      maxAttempts: num(dest.maxAttempts, `${field}.maxAttempts`, maxAttempts, { min: 1, max: 1000, integer: true }),
      backoff: resolveBackoff(dest.backoff, `${field}.backoff`, backoff),
      circuitBreaker:
        dest.circuitBreaker === false ? false : resolveBreaker(dest.circuitBreaker, `${field}.circuitBreaker`, breaker),
    });
  }
  return map;
}

function resolveRoutes(value: unknown, destinations: ReadonlyMap<string, ResolvedDestination>) {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidOptionsError('routes', `must be an array, got ${typeName(value)}`);
  return value.map((r: unknown, i) => {
    const field = `routes[${i}]`;
    const route = section(r, field);
    onlyKnownKeys(route, field, ['event', 'destination']);
    if (typeof route.event !== 'function' && (typeof route.event !== 'string' || route.event === '')) {
      throw new InvalidOptionsError(`${field}.event`, 'must be an event class or a non-empty type name');
    }
    const destination = str(route.destination, `${field}.destination`, '');
    if (!destinations.has(destination) || destination === LOCAL_DESTINATION) {
      throw new InvalidOptionsError(
        `${field}.destination`,
        `"${destination}" is not a configured destination (configured: ${[...destinations.keys()].filter((n) => n !== LOCAL_DESTINATION).join(', ') || 'none'})`,
      );
    }
    return { eventType: eventTypeOf(route.event as string), destination };
  });
}

function resolveSources(value: unknown): ReadonlyMap<string, Source> {
  const map = new Map<string, Source>();
  for (const [name, s] of Object.entries(section(value, 'sources'))) {
    const field = join('sources', name);
    if (!DESTINATION_NAME.test(name))
      throw new InvalidOptionsError(field, `name must match ${String(DESTINATION_NAME)}`);
    const source = section(s, field);
    if (typeof source.start !== 'function' || typeof source.stop !== 'function' || typeof source.close !== 'function') {
      throw new InvalidOptionsError(field, 'must be made by amqpSource() or natsSource()');
    }
    map.set(name, s as Source);
  }
  return map;
}

function resolveClock(value: unknown): Clock {
  if (value === undefined) return systemClock;
  if (typeof value !== 'object' || value === null || typeof (value as Clock).now !== 'function') {
    throw new InvalidOptionsError('clock', 'must be an object with now(): number');
  }
  const onJump = (value as Clock).onJump;
  if (onJump !== undefined && typeof onJump !== 'function') {
    throw new InvalidOptionsError('clock.onJump', `must be a function when given, got ${typeof onJump}`);
  }
  return value as Clock;
}

import { describe, expect, it } from '@jest/globals';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { resolveOptions } from './resolve-options.js';
import type { FlowbusOptions } from './flowbus-options.interface.js';

const sink = { deliver: async () => undefined };

function failure(options: unknown): InvalidOptionsError {
  try {
    resolveOptions(options as FlowbusOptions);
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error;
    throw error;
  }
  throw new Error('expected resolveOptions to fail');
}

describe('resolveOptions', () => {
  it('fills every default from DESIGN.md', () => {
    const o = resolveOptions(undefined);
    expect(o.schema).toBe('public');
    expect(o.migrationsRun).toBe(true);
    expect(o.bus).toEqual({
      propagateHandlerExceptions: false,
      logHandlerExceptions: true,
      handlerTimeoutMs: undefined,
    });
    expect(o.relay).toMatchObject({
      enabled: true,
      pollIntervalMs: 1000,
      batchSize: 500,
      leaseMs: 30_000,
      maxAttempts: 10,
      concurrency: 1000,
      backoff: { initialMs: 1000, factor: 2, maxMs: 300_000, jitter: 'full' },
      retentionMs: 7 * 24 * 3600 * 1000,
      notify: false,
      listen: true,
      storage: 'log',
    });
    expect(o.timeouts).toEqual({ enabled: true, pollIntervalMs: 1000, batchSize: 100 });
    expect(o.telemetry).toEqual({ enabled: true });
    expect([...o.destinations.keys()]).toEqual(['local']);
    expect(o.destinations.get('local')!.circuitBreaker).toBe(false);
  });

  it('takes telemetry.enabled: false', () => {
    expect(resolveOptions({ telemetry: { enabled: false } }).telemetry).toEqual({ enabled: false });
  });

  it('defaults relay.concurrency to twice the batch size, and takes an explicit one as given', () => {
    expect(resolveOptions({ relay: { batchSize: 30 } }).relay.concurrency).toBe(60);
    expect(resolveOptions({ relay: { batchSize: 8000 } }).relay.concurrency).toBe(10_000);
    expect(resolveOptions({ relay: { batchSize: 30, concurrency: 5 } }).relay.concurrency).toBe(5);
  });

  it("reads the log in pages of 500 by default, and claims 100 rows a round trip with relay.storage 'table'", () => {
    expect(resolveOptions({ relay: { storage: 'log' } }).relay).toMatchObject({
      storage: 'log',
      batchSize: 500,
      concurrency: 1000,
    });
    expect(resolveOptions({ relay: { storage: 'log', batchSize: 50 } }).relay.batchSize).toBe(50);
    expect(resolveOptions({ relay: { storage: 'table' } }).relay).toMatchObject({
      storage: 'table',
      batchSize: 100,
      concurrency: 200,
    });
  });

  it('merges destination overrides field by field over the relay defaults', () => {
    const o = resolveOptions({
      relay: { maxAttempts: 4, backoff: { initialMs: 50 } },
      circuitBreaker: { resetTimeoutMs: 5000 },
      destinations: { billing: { ...sink, backoff: { factor: 3 }, circuitBreaker: { volumeThreshold: 2 } } },
    });
    const billing = o.destinations.get('billing')!;
    expect(billing.maxAttempts).toBe(4);
    expect(billing.backoff).toEqual({ initialMs: 50, factor: 3, maxMs: 300_000, jitter: 'full' });
    expect(billing.circuitBreaker).toMatchObject({
      resetTimeoutMs: 5000,
      initialResetTimeoutMs: 1000,
      resetTimeoutRatio: 0.1,
      consecutiveFailures: 3,
      volumeThreshold: 2,
      errorThresholdPercentage: 50,
    });
    // The first pause never exceeds the longest one.
    expect(resolveOptions({ circuitBreaker: { resetTimeoutMs: 400 } }).circuitBreaker.initialResetTimeoutMs).toBe(400);
    expect(
      resolveOptions({ destinations: { x: { ...sink, circuitBreaker: false } } }).destinations.get('x')!.circuitBreaker,
    ).toBe(false);
  });

  it('resolves routes to event type names', () => {
    class OrderPlaced {}
    class Renamed {
      static eventType = 'orders.renamed';
    }
    const o = resolveOptions({
      destinations: { billing: sink },
      routes: [
        { event: OrderPlaced, destination: 'billing' },
        { event: Renamed, destination: 'billing' },
        { event: 'raw.type', destination: 'billing' },
      ],
    });
    expect(o.routes.map((r) => r.eventType)).toEqual(['OrderPlaced', 'orders.renamed', 'raw.type']);
  });

  it.each([
    [{ relay: { pollIntervalMs: -1 } }, 'relay.pollIntervalMs', 'must be >= 10'],
    [{ relay: { batchSize: 1.5 } }, 'relay.batchSize', 'must be an integer'],
    [{ relay: { maxAttempts: '3' } }, 'relay.maxAttempts', 'must be a finite number'],
    [{ relay: { backoff: { jitter: 'random' } } }, 'relay.backoff.jitter', "must be one of 'full', 'equal', 'none'"],
    [{ relay: { storage: 'queue' } }, 'relay.storage', "must be one of 'table', 'log'"],
    [{ relay: { backoff: { initialMs: 5000, maxMs: 100 } } }, 'relay.backoff.maxMs', 'must be >= initialMs'],
    [{ relay: { pollIntervalMS: 5 } }, 'relay.pollIntervalMS', 'did you mean "pollIntervalMs"'],
    [{ bus: { handlerTimeoutMs: 0 } }, 'bus.handlerTimeoutMs', 'must be >= 1'],
    [{ bus: { propagateHandlerExceptions: 'yes' } }, 'bus.propagateHandlerExceptions', 'must be true or false'],
    [{ schema: 'Robert"; DROP TABLE x' }, 'schema', 'must match'],
    [{ dataSource: {} }, 'dataSource', 'must be a TypeORM DataSource'],
    [{ destinations: { local: sink } }, 'destinations.local', 'is built in'],
    [{ destinations: { 'bad name': sink } }, 'destinations.bad name', 'name must match'],
    [{ destinations: { billing: {} } }, 'destinations.billing.deliver', 'must be a function'],
    [{ destinations: { billing: { ...sink, maxAttempts: 0 } } }, 'destinations.billing.maxAttempts', 'must be >= 1'],
    [
      { routes: [{ event: 'X', destination: 'nowhere' }] },
      'routes[0].destination',
      '"nowhere" is not a configured destination',
    ],
    [{ routes: {} }, 'routes', 'must be an array'],
    [
      { circuitBreaker: { errorThresholdPercentage: 150 } },
      'circuitBreaker.errorThresholdPercentage',
      'must be <= 100',
    ],
    [
      { circuitBreaker: { initialResetTimeoutMs: 5000, resetTimeoutMs: 1000 } },
      'circuitBreaker.initialResetTimeoutMs',
      'must be <= circuitBreaker.resetTimeoutMs (1000)',
    ],
    [{ circuitBreaker: { consecutiveFailures: 0 } }, 'circuitBreaker.consecutiveFailures', 'must be >= 1'],
    [
      { destinations: { billing: { ...sink, circuitBreaker: { resetTimeoutRatio: -1 } } } },
      'destinations.billing.circuitBreaker.resetTimeoutRatio',
      'must be >= 0',
    ],
    [{ timeouts: { pollIntervalMs: 1 } }, 'timeouts.pollIntervalMs', 'must be >= 10'],
    [{ telemetry: { enabled: 'no' } }, 'telemetry.enabled', 'must be true or false'],
    [{ telemetry: true }, 'telemetry', 'object'],
    [{ telemetry: { sampler: 1 } }, 'telemetry.sampler', 'unknown option'],
    [{ clock: { now: 5 } }, 'clock', 'now(): number'],
    [{ unknown: true }, 'unknown', 'unknown option'],
  ])('rejects %j naming %s', (options, field, rule) => {
    const error = failure(options);
    expect(error.field).toBe(field);
    expect(error.message).toContain(`Invalid Flowbus option "${field}"`);
    expect(error.message).toContain(rule);
    expect(error.code).toBe('FLOWBUS_INVALID_OPTIONS');
  });
});

import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { describeError } from '../errors/handler-failures.error.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { BreakerRegistry } from '../relay/breaker.registry.js';
import { OutboxRelay } from '../relay/outbox-relay.js';
import { FlowbusStats } from '../monitoring/flowbus-stats.js';
import type { FlowbusHealthOptions } from './flowbus-health-options.interface.js';

const DEFAULTS = { relayStalledAfterPolls: 5, maxOldestPendingAgeMs: 900_000, failOnOpenBreaker: true };

interface Check {
  status: 'up' | 'down';
  [detail: string]: unknown;
}

/**
 * A `@nestjs/terminus` health indicator for Flowbus: the database answers, this instance's relay
 * loop turned within `relayStalledAfterPolls` poll intervals, the oldest undelivered message is
 * younger than `maxOldestPendingAgeMs`, and no destination's breaker is open. The details name
 * each check and its figures; `failed` lists the checks that failed.
 *
 * @example
 * // app.module.ts: imports TerminusModule and FlowbusModule; providers: [FlowbusHealthIndicator]
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.flowbus.isHealthy('flowbus')]); }
 */
@Injectable()
export class FlowbusHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly relay: OutboxRelay,
    private readonly breakers: BreakerRegistry,
    private readonly stats: FlowbusStats,
  ) {}

  /**
   * @param key the key of the result in the health check's output
   * @throws InvalidOptionsError naming a bad threshold
   */
  async isHealthy(key = 'flowbus', options: FlowbusHealthOptions = {}): Promise<HealthIndicatorResult> {
    const o = { ...DEFAULTS, ...options };
    checkPositive('relayStalledAfterPolls', o.relayStalledAfterPolls);
    if (o.maxOldestPendingAgeMs !== false) checkPositive('maxOldestPendingAgeMs', o.maxOldestPendingAgeMs);
    const checks: Record<string, Check> = {};

    let oldest: number | null = null;
    try {
      oldest = (await this.stats.read()).oldestPendingAgeMs;
      checks.database = { status: 'up' };
    } catch (error) {
      checks.database = { status: 'down', error: describeError(error) };
    }

    const relay = this.relay.status();
    const limitMs = o.relayStalledAfterPolls * this.options.relay.pollIntervalMs;
    if (!relay.enabled) {
      checks.relay = { status: 'up', enabled: false };
    } else {
      const idleMs = relay.lastLoopAt === null ? null : Date.now() - relay.lastLoopAt.getTime();
      const alive = relay.running && idleMs !== null && idleMs <= limitMs;
      checks.relay = {
        status: alive ? 'up' : 'down',
        running: relay.running,
        lastLoopAt: relay.lastLoopAt?.toISOString() ?? null,
        stalledAfterMs: limitMs,
        ...(alive
          ? {}
          : { error: relay.running ? `the relay loop has not turned for ${idleMs} ms` : 'the relay is stopped' }),
      };
    }

    if (o.maxOldestPendingAgeMs !== false && checks.database.status === 'up') {
      const late = oldest !== null && oldest > o.maxOldestPendingAgeMs;
      checks.backlog = {
        status: late ? 'down' : 'up',
        oldestPendingAgeMs: oldest,
        maxOldestPendingAgeMs: o.maxOldestPendingAgeMs,
        ...(late ? { error: `the oldest undelivered message is ${oldest} ms old` } : {}),
      };
    }

    const open = this.breakers
      .snapshots()
      .filter((b) => b.state === 'open')
      .map((b) => b.destination);
    checks.breakers = {
      status: open.length > 0 && o.failOnOpenBreaker ? 'down' : 'up',
      open,
      ...(open.length > 0 ? { error: `circuit breaker open for ${open.join(', ')}` } : {}),
    };

    const failed = Object.entries(checks)
      .filter(([, c]) => c.status === 'down')
      .map(([name]) => name);
    const session = this.indicators.check(key);
    return failed.length === 0 ? session.up({ checks }) : session.down({ failed, checks });
  }
}

function checkPositive(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionsError(`FlowbusHealthOptions.${field}`, `must be a positive number, got ${String(value)}`);
  }
}

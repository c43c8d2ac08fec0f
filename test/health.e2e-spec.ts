import { describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { InvalidOptionsError, OutboxRelay, OutboxService, type Destination } from 'nestjs-flowbus';
import { FlowbusHealthIndicator } from 'nestjs-flowbus/health';
import { waitFor } from 'nestjs-flowbus/testing';
import request from 'supertest';
import { HealthController } from '../apps/demo/src/observability/health.controller.js';
import { createFlowbusApp } from './support/app.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { RecordingDestination } from './support/recording-destination.js';

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();

async function start(destinations: Record<string, Destination> = {}): Promise<INestApplication> {
  const app = await createFlowbusApp({
    dataSource: testDb.ds,
    options: { destinations, relay: { pollIntervalMs: 50, listen: false } },
    imports: [TerminusModule],
    providers: [FlowbusHealthIndicator],
    controllers: [HealthController],
  });
  apps.push(app);
  return app;
}

describe('FlowbusHealthIndicator', () => {
  it('is up with the database reachable, the relay turning, no backlog and breakers closed', async () => {
    const app = await start({ sink: new RecordingDestination() });
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.flowbus).toMatchObject({
      status: 'up',
      checks: {
        database: { status: 'up' },
        relay: { status: 'up', running: true },
        backlog: { status: 'up', oldestPendingAgeMs: null },
        breakers: { status: 'up', open: [] },
      },
    });
  });

  it('goes down when the relay is stopped, naming the check', async () => {
    const app = await start();
    await app.get(OutboxRelay).beforeApplicationShutdown();
    const res = await request(app.getHttpServer()).get('/health').expect(503);
    expect(res.body.status).toBe('error');
    expect(res.body.error.flowbus).toMatchObject({
      status: 'down',
      failed: ['relay'],
      checks: { relay: { status: 'down', running: false, error: 'the relay is stopped' }, database: { status: 'up' } },
    });
  });

  it('goes down while a destination breaker is open', async () => {
    const sink = new RecordingDestination({ circuitBreaker: { volumeThreshold: 1, consecutiveFailures: 1 } });
    sink.failWith = () => new Error('down');
    const app = await start({ sink });
    const outbox = app.get(OutboxService);
    await outbox.transaction((m) =>
      outbox.enqueue(
        m,
        [1, 2, 3].map((n) => ({ destination: 'sink', type: 'Ping', payload: { n } })),
      ),
    );
    const health = app.get(FlowbusHealthIndicator);
    const result = await waitFor(async () => {
      const r = await health.isHealthy('flowbus');
      return r.flowbus?.status === 'down' ? r : undefined;
    });
    expect(result.flowbus).toMatchObject({
      failed: ['breakers'],
      checks: { breakers: { status: 'down', open: ['sink'], error: 'circuit breaker open for sink' } },
    });
    // Only reported when asked not to fail on it.
    expect((await health.isHealthy('flowbus', { failOnOpenBreaker: false })).flowbus?.status).toBe('up');
  });

  it('goes down when the oldest undelivered message is older than the threshold', async () => {
    const sink = new RecordingDestination();
    const app = await start({ sink });
    const outbox = app.get(OutboxService);
    await outbox.transaction((m) =>
      outbox.enqueue(m, {
        destination: 'sink',
        type: 'Later',
        payload: {},
        availableAt: new Date(Date.now() + 3_600_000),
      }),
    );
    await new Promise((r) => setTimeout(r, 30));
    const r = await app.get(FlowbusHealthIndicator).isHealthy('flowbus', { maxOldestPendingAgeMs: 10 });
    expect(r.flowbus).toMatchObject({ status: 'down', failed: ['backlog'], checks: { backlog: { status: 'down' } } });
  });

  it('refuses a bad threshold naming it', async () => {
    const app = await start();
    await expect(app.get(FlowbusHealthIndicator).isHealthy('flowbus', { relayStalledAfterPolls: 0 })).rejects.toThrow(
      new InvalidOptionsError('FlowbusHealthOptions.relayStalledAfterPolls', 'must be a positive number, got 0'),
    );
  });
});

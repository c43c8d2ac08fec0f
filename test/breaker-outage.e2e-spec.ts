import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { BreakerRegistry, httpDestination, OutboxService } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { SwitchableSink } from './support/switchable-sink.js';

/**
 * A busy HTTP destination goes down and comes back, at a smaller scale than in production
 * (a few hundred deliveries, then a 4 s outage): the breaker must open after a handful of failures, not after
 * as many as there were successes, and probe often enough to resume soon after the destination
 * is back.
 */

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
const sink = new SwitchableSink();
let stopProducer: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  await sink.up();
  app = await createFlowbusApp({
    dataSource: ds,
    options: {
      destinations: { sink: httpDestination({ url: `http://127.0.0.1:${sink.port}/in`, timeoutMs: 5000 }) },
      relay: { pollIntervalMs: 100, maxAttempts: 1000, backoff: { initialMs: 100, maxMs: 1000 } },
      circuitBreaker: { initialResetTimeoutMs: 200, resetTimeoutRatio: 0.1 },
    },
  });
});

afterAll(async () => {
  await stopProducer();
  await app.close();
  await sink.down();
  await ds.destroy();
  await db.drop();
});

const attemptsBurnt = async (): Promise<number> =>
  Number(
    (
      await ds.query(
        `SELECT (SELECT coalesce(sum(attempts), 0) FROM flowbus_outbox)
              + (SELECT coalesce(sum(attempts), 0) FROM flowbus_dead_letter) AS n`,
      )
    )[0].n,
  );

describe('a busy HTTP destination goes down for a while', () => {
  it('opens the breaker after a few failures, burns few attempts and resumes soon after it is back', async () => {
    const outbox = app.get(OutboxService);
    const breakers = app.get(BreakerRegistry);
    const state = () => breakers.snapshots().find((b) => b.destination === 'sink')!.state;
    let producing = true;
    let enqueued = 0;
    const producer = (async () => {
      while (producing) {
        const rows = Array.from({ length: 10 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } }));
        await outbox.transaction((m) => outbox.enqueue(m, rows));
        enqueued += rows.length;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    stopProducer = async () => {
      producing = false;
      await producer;
    };
    // Busy: the sink takes a few hundred deliveries (its successes fill the breaker's window).
    await waitFor(() => sink.delivered.size >= 300, { timeoutMs: 20_000, message: 'a busy period' });
    expect(state()).toBe('closed');

    await sink.down();
    await waitFor(() => state() !== 'closed', { message: 'the breaker to open' });
    // The rows produced so far and not delivered wait out the outage (and keep the test short).
    await stopProducer();
    const downUntil = performance.now() + 4000;
    await waitFor(() => performance.now() >= downUntil, { timeoutMs: 8000 });
    const burnt = await attemptsBurnt();
    expect(burnt).toBeLessThanOrEqual(50);

    await sink.up();
    await waitFor(() => sink.firstAfterUp !== undefined, { message: 'a delivery after the sink is back' });
    const resumeMs = sink.firstAfterUp! - sink.upAt;
    await waitFor(() => sink.delivered.size === enqueued, { timeoutMs: 30_000, message: 'every row delivered' });

    expect(resumeMs).toBeLessThanOrEqual(2000);
    expect(state()).toBe('closed');
    const dead = await ds.query('SELECT count(*)::int AS n FROM flowbus_dead_letter');
    expect(dead[0].n).toBe(0);
  });
});

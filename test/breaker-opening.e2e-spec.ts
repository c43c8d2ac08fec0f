import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { BreakerRegistry, httpDestination, OutboxRelay, OutboxService } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { SwitchableSink } from './support/switchable-sink.js';

/**
 * What opens a breaker, with many deliveries in flight: a destination going down costs one
 * attempt per failed run (`consecutiveFailures`) however many were in flight (they all fail together), also while
 * messages keep coming one transaction after another, and a burst of messages the destination fails one by one
 * while it answers the others does not open it.
 */

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
const sink = new SwitchableSink();
sink.delayMs = 200;
/** A second destination, for an outage met by messages written one transaction after another. */
const trickle = new SwitchableSink();
let opened = 0;
let trickleOpened = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  await sink.up();
  await trickle.up();
  app = await createFlowbusApp({
    dataSource: ds,
    options: {
      destinations: {
        sink: httpDestination({ url: `http://127.0.0.1:${sink.port}/in`, timeoutMs: 5000 }),
        trickle: httpDestination({ url: `http://127.0.0.1:${trickle.port}/in`, timeoutMs: 5000 }),
      },
      relay: { pollIntervalMs: 100, maxAttempts: 1000, backoff: { initialMs: 60_000, maxMs: 60_000 } },
      // No probe during the test: what is burnt is the opening alone.
      circuitBreaker: { initialResetTimeoutMs: 60_000, resetTimeoutMs: 60_000 },
    },
  });
  app
    .get(BreakerRegistry)
    .breakerOf('sink')!
    .on('open', () => opened++);
  app
    .get(BreakerRegistry)
    .breakerOf('trickle')!
    .on('open', () => trickleOpened++);
});

afterAll(async () => {
  await app.close();
  await sink.down();
  await trickle.down();
  await ds.destroy();
  await db.drop();
});

const enqueue = (rows: number, fail: boolean, destination = 'sink') =>
  app.get(OutboxService).transaction((m) =>
    app.get(OutboxService).enqueue(
      m,
      Array.from({ length: rows }, (_, i) => ({ destination, type: 'T', payload: { i, fail } })),
    ),
  );

const attempts = async (destination = 'sink'): Promise<number> =>
  Number(
    (
      await ds.query(
        `SELECT coalesce(sum(jsonb_array_length(errors)), 0)::int AS n FROM flowbus_outbox WHERE destination = $1`,
        [destination],
      )
    )[0].n,
  );

describe('a breaker with many deliveries in flight', () => {
  it('stays closed on a burst of failing messages while the destination answers others', async () => {
    // The failures come back first (the successes are slower), 20 in a row. One transaction, so
    // the relay starts them all together: written in two, a busy machine may see the failing rows
    // alone in a round, with nothing in flight the destination answers (then it rightly opens).
    await app.get(OutboxService).transaction((m) =>
      app.get(OutboxService).enqueue(
        m,
        [true, false].flatMap((fail) =>
          Array.from({ length: 20 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i, fail } })),
        ),
      ),
    );
    await waitFor(() => sink.delivered.size === 20, { timeoutMs: 20_000, message: 'the clean rows delivered' });
    await waitFor(async () => (await attempts()) === 20, { message: 'an attempt recorded per failing row' });
    expect(opened).toBe(0);
    await ds.query(`DELETE FROM flowbus_outbox`);
  });

  it('opens at the cost of at most consecutiveFailures (3) attempts when the destination goes down with 30 deliveries in flight', async () => {
    sink.delayMs = 2000;
    await enqueue(30, false);
    const breakers = app.get(BreakerRegistry);
    const leased = () =>
      ds.query(`SELECT count(*)::int AS n FROM flowbus_outbox WHERE lock_owner IS NOT NULL`).then((r) => r[0].n);
    await waitFor(() => sink.inFlight() === 30, { message: '30 deliveries in flight' });
    await sink.down();
    await waitFor(() => breakers.snapshots().find((b) => b.destination === 'sink')!.state === 'open', {
      message: 'the breaker to open',
    });
    expect(await app.get(OutboxRelay).whenIdle(10_000)).toBe(true);
    await waitFor(async () => (await leased()) === 0, { message: 'every row given back' });
    // One attempt per failed run, three runs at most (the default consecutiveFailures); opossum's
    // error percentage may open it sooner. Counting every failure in flight cost 10.
    expect(opened).toBe(1);
    expect(await attempts()).toBeLessThanOrEqual(3);
  });

  it('opens at the cost of at most consecutiveFailures (3) attempts while messages keep coming, one transaction after another', async () => {
    // Log storage: a failed run gives back the deliveries in flight with it (parked in
    // flowbus_outbox, due at once); the claim loop sends them once the next transaction's page is
    // under way, and that page fails at once (port closed). Each of them cost an attempt (about a
    // hundred in the reliability suite's destination-outage scenario).
    await enqueue(10, false, 'trickle');
    await waitFor(() => trickle.delivered.size === 10, { message: 'the first rows delivered' });
    await trickle.down();
    const breakers = app.get(BreakerRegistry);
    const isOpen = () => breakers.snapshots().find((b) => b.destination === 'trickle')!.state === 'open';
    for (let i = 0; i < 20 && !isOpen(); i++) {
      await enqueue(10, false, 'trickle');
      // The producer's pace (a transaction every 30 ms or so), not a wait for an outcome.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await waitFor(isOpen, { message: 'the breaker to open' });
    expect(await app.get(OutboxRelay).whenIdle(10_000)).toBe(true);
    expect(trickleOpened).toBe(1);
    expect(await attempts('trickle')).toBeLessThanOrEqual(3);
  });
});

import { afterAll, expect, it } from '@jest/globals';
import type { ProducerFixtureConfig } from '../fixtures/producer.fixture.js';
import type { RelayFixtureConfig } from '../fixtures/relay.fixture.js';
import { withClient } from '../support/books.js';
import { record, sized } from '../support/profile.js';
import { closeBooks, closeStage, expectBalancedBooks, openStage, sleep, type Stage } from '../support/scenario.js';

/**
 * Scenario 3, destination outage: after a busy period the HTTP sink goes down (port closed) for
 * 20 s while messages keep coming, then returns. With the default circuit breaker, the relays burn
 * few attempts on the dead destination (target ≤ 50) and resume within 2 s of its return.
 */
const RATE = sized(100, 200);
const BUSY_MS = sized(6000, 60_000);
const OUTAGE_MS = sized(4000, 20_000);
const AFTER_MS = sized(3000, 10_000);
const ROWS = Math.round((RATE * (BUSY_MS + OUTAGE_MS + AFTER_MS)) / 1000);
const MAX_BURNT = 50;
const RESUME_BOUND_MS = 2000;

let stage: Stage | undefined;
afterAll(() => closeStage(stage));

it(`destination outage: sink down ${OUTAGE_MS} ms after ${BUSY_MS} ms of traffic`, async () => {
  stage = await openStage('destination_outage');
  const s = stage;
  const relayConfig: RelayFixtureConfig = { databaseUrl: s.databaseUrl, sinkUrl: s.sink.url };
  await s.processes.start('relay', 'relay-1', relayConfig);
  await s.processes.start('relay', 'relay-2', relayConfig);
  const producer = await s.processes.start('producer', 'producer', {
    databaseUrl: s.databaseUrl,
    sinkUrl: s.sink.url,
    rows: ROWS,
    batch: 10,
    ratePerSec: RATE,
    plan: {},
  } satisfies ProducerFixtureConfig);

  await sleep(BUSY_MS);
  const deliveredBefore = s.sink.acks.size;
  await s.sink.down();
  await sleep(OUTAGE_MS);
  await s.sink.up();
  const back = Date.now();
  const resumeDeadline = back + 60_000;
  while (!(s.sink.delivered.at(-1)!.at > back) && Date.now() < resumeDeadline) await sleep(20);
  const resumeMs = s.sink.delivered.at(-1)!.at > back ? s.sink.delivered.at(-1)!.at - back : -1;

  await producer.waitEvent('done', 120_000);
  const books = await closeBooks(s, ROWS, 400_000);
  // Every failed attempt leaves an entry in the row's error history.
  const burnt = await withClient(s.databaseUrl, async (c) =>
    Number(
      (await c.query('SELECT COALESCE(sum(jsonb_array_length(errors)), 0)::int AS n FROM flowbus_outbox')).rows[0].n,
    ),
  );

  record('destination-outage', {
    rows: ROWS,
    ratePerSec: RATE,
    busyMs: BUSY_MS,
    outageMs: OUTAGE_MS,
    deliveredBeforeOutage: deliveredBefore,
    attemptsBurnt: burnt,
    resumeMs,
    ...books,
  });
  expectBalancedBooks(s, books);
  expect(books.deadLettered).toBe(0);
  expect({ attemptsBurnt: burnt, resumedInTime: resumeMs >= 0 && resumeMs <= RESUME_BOUND_MS }).toEqual({
    attemptsBurnt: expect.any(Number),
    resumedInTime: true,
  });
  expect(burnt).toBeLessThanOrEqual(MAX_BURNT);
});

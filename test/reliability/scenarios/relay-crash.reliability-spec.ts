import { afterAll, expect, it } from '@jest/globals';
import type { ProducerFixtureConfig } from '../fixtures/producer.fixture.js';
import type { RelayFixtureConfig } from '../fixtures/relay.fixture.js';
import type { FixtureProcess } from '../support/processes.js';
import { record, sized } from '../support/profile.js';
import { closeBooks, closeStage, expectBalancedBooks, openStage, sleep, type Stage } from '../support/scenario.js';

/**
 * Scenario 1, relay crash: three relay processes drain a stream of rows while one of them is
 * SIGKILLed every ~2 s and replaced. The killed relay's leases expire and its rows are delivered by
 * the others: nothing lost, duplicates (deliveries in flight at the kill) counted.
 */
const ROWS = sized(2000, 20_000);
const RATE = sized(500, 1000);
const KILLS = sized(3, 10);
const KILL_EVERY_MS = sized(1500, 2000);
const LEASE_MS = sized(3000, 30_000);

let stage: Stage | undefined;
afterAll(() => closeStage(stage));

it(`relay crash: ${ROWS} rows, 3 relays, ${KILLS} SIGKILLs`, async () => {
  stage = await openStage('relay_crash');
  const s = stage;
  const relayConfig: RelayFixtureConfig = {
    databaseUrl: s.databaseUrl,
    sinkUrl: s.sink.url,
    relay: { leaseMs: LEASE_MS, listen: true },
  };
  const producerConfig: ProducerFixtureConfig = {
    databaseUrl: s.databaseUrl,
    sinkUrl: s.sink.url,
    rows: ROWS,
    batch: 50,
    ratePerSec: RATE,
    plan: {},
  };
  // The first start runs the migrations; the others start once the schema exists.
  const relays: FixtureProcess[] = [await s.processes.start('relay', 'relay-1', relayConfig)];
  relays.push(...(await Promise.all([2, 3].map((i) => s.processes.start('relay', `relay-${i}`, relayConfig)))));
  const producer = await s.processes.start('producer', 'producer', producerConfig);
  const started = Date.now();

  // Kill a running relay every ~2 s; its replacement starts at once (and takes a few seconds to
  // boot on a busy machine, so restarts overlap the next kills).
  let kills = 0;
  const restarts: Promise<number>[] = [];
  while (kills < KILLS) {
    await sleep(KILL_EVERY_MS * (0.75 + Math.random() / 2));
    // On a busy machine a replacement may take longer to boot than the kill interval: wait for one.
    while (!relays.some((r) => r.alive)) await sleep(50);
    const running = relays.filter((r) => r.alive);
    const victim = running[Math.floor(Math.random() * running.length)]!;
    victim.kill('SIGKILL');
    kills++;
    const t = Date.now();
    restarts.push(
      s.processes.start('relay', `relay-${3 + kills}`, relayConfig).then((r) => {
        relays.push(r);
        return Date.now() - t;
      }),
    );
  }
  const restartMs = await Promise.all(restarts);
  await producer.waitEvent('done', 120_000);
  const books = await closeBooks(s, ROWS, LEASE_MS + 120_000);
  const elapsedMs = Date.now() - started;

  record('relay-crash', {
    rows: ROWS,
    relays: 3,
    kills,
    leaseMs: LEASE_MS,
    elapsedMs,
    maxRestartMs: Math.max(...restartMs),
    ...books,
  });
  expect(kills).toBe(KILLS);
  expectBalancedBooks(s, books);
  expect(books.delivered).toBe(ROWS);
});

import { afterAll, expect, it } from '@jest/globals';
import type { ProducerFixtureConfig } from '../fixtures/producer.fixture.js';
import type { RelayFixtureConfig } from '../fixtures/relay.fixture.js';
import { leasesHeld, queryable, testStorage } from '../../support/app.js';
import { withClient } from '../support/books.js';
import { record, sized } from '../support/profile.js';
import { closeBooks, closeStage, expectBalancedBooks, openStage, sleep, type Stage } from '../support/scenario.js';

/**
 * Scenario 7, graceful shutdown: two relays draining a backlog get SIGTERM in the middle of it,
 * once with a fast sink and once with a sink that accepts requests and never answers. Each exits
 * 0 within its shutdown bound and leaves no row leased; a fresh relay then delivers the rest.
 */
const BACKLOG = sized(1500, 20_000);
const SHUTDOWN_TIMEOUT_MS = sized(3000, 10_000);
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 5000;

let stage: Stage | undefined;
afterAll(() => closeStage(stage));

interface Drain {
  sink: string;
  deliveredAtSigterm: number;
  exitMs: number[];
  closeMs: number[];
  exitCodes: (number | null)[];
  leasedAfterExit: number;
}

it(`graceful shutdown: SIGTERM mid-drain of ${BACKLOG} rows, fast and hanging sink`, async () => {
  stage = await openStage('graceful_shutdown');
  const s = stage;
  const relayConfig: RelayFixtureConfig = {
    databaseUrl: s.databaseUrl,
    sinkUrl: s.sink.url,
    relay: { shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS },
    sink: { timeoutMs: 60_000 },
  };
  const drains: Drain[] = [];

  const drainAndTerminate = async (sinkMode: 'fast' | 'hanging', first: number) => {
    const producer = await s.processes.start('producer', `producer-${sinkMode}`, {
      databaseUrl: s.databaseUrl,
      sinkUrl: s.sink.url,
      rows: BACKLOG,
      first,
      batch: 500,
      plan: {},
    } satisfies ProducerFixtureConfig);
    await producer.waitEvent('done', 120_000);
    producer.kill('SIGTERM');
    await producer.waitExit(15_000);
    if (sinkMode === 'hanging') s.sink.hang();
    const relays = await Promise.all(
      [1, 2].map((i) => s.processes.start('relay', `relay-${sinkMode}-${i}`, relayConfig)),
    );
    // SIGTERM once the drain is under way: a third of the backlog delivered, or requests hanging.
    const started = s.sink.requests;
    const ackedBefore = s.sink.acks.size;
    const deadline = Date.now() + 60_000;
    while (s.sink.requests - started < BACKLOG / 3 && Date.now() < deadline) {
      if (sinkMode === 'hanging' && s.sink.requests - started >= 50) break;
      await sleep(10);
    }
    const deliveredAtSigterm = s.sink.acks.size - ackedBefore;
    for (const r of relays) r.kill('SIGTERM');
    const exits = await Promise.all(relays.map((r) => r.waitExit(60_000)));
    // On the log a relay also leases cursors: every lease must be given back on the way out.
    const leasedAfterExit = await withClient(s.databaseUrl, async (c) =>
      testStorage() === 'log'
        ? leasesHeld(queryable(c))
        : Number(
            (
              await c.query(
                'SELECT count(*)::int AS n FROM flowbus_outbox WHERE delivered_at IS NULL AND lock_owner IS NOT NULL',
              )
            ).rows[0].n,
          ),
    );
    drains.push({
      sink: sinkMode,
      deliveredAtSigterm,
      exitMs: exits.map((e) => e.ms),
      closeMs: relays.map((r) => Number(r.last('closed')?.closeMs ?? -1)),
      exitCodes: exits.map((e) => e.code),
      leasedAfterExit,
    });
  };

  await drainAndTerminate('fast', 0);
  await drainAndTerminate('hanging', BACKLOG);
  await s.sink.up();
  await s.processes.start('relay', 'relay-after', relayConfig);
  const books = await closeBooks(s, 2 * BACKLOG, 120_000);

  record('graceful-shutdown', { backlog: BACKLOG, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS, drains, ...books });
  expectBalancedBooks(s, books);
  for (const d of drains) {
    expect({ sink: d.sink, exitCodes: d.exitCodes, leasedAfterExit: d.leasedAfterExit }).toEqual({
      sink: d.sink,
      exitCodes: [0, 0],
      leasedAfterExit: 0,
    });
    for (const ms of d.exitMs) expect(ms).toBeLessThan(EXIT_BOUND_MS);
  }
});

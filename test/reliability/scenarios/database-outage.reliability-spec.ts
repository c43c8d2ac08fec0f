import { afterAll, expect, it } from '@jest/globals';
import { writtenRows } from '../../support/app.js';
import type { ProducerFixtureConfig } from '../fixtures/producer.fixture.js';
import type { RelayFixtureConfig } from '../fixtures/relay.fixture.js';
import { withClient } from '../support/books.js';
import type { FixtureProcess } from '../support/processes.js';
import { record, sized } from '../support/profile.js';
import { closeBooks, closeStage, expectBalancedBooks, openStage, sleep, type Stage } from '../support/scenario.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * Scenario 2, database outage: a producer and two relays run under load, connected through a TCP
 * proxy, while PostgreSQL is stopped for a while with `-m fast`, then with `-m immediate`, and then
 * every connection is cut by the proxy while a claim is in flight (the outbox table locked from
 * another session). Every process survives, producers and relays resume within 2 s of the server
 * being back, and the books balance.
 */
const OUTAGE_MS = sized(2000, 5000);
const RATE = sized(150, 300);
const SECONDS = sized(16, 40);
const ROWS = RATE * SECONDS;
const LEASE_MS = sized(5000, 30_000);
const RESUME_BOUND_MS = 2000;

let stage: Stage | undefined;
let proxy: TcpProxy | undefined;
afterAll(async () => {
  await proxy?.stop();
  await closeStage(stage);
});

interface Disruption {
  kind: string;
  downMs: number;
  relayResumeMs: number;
  producerResumeMs: number;
  duplicatesAfter: number;
}

it(`database outage: stop -m fast, stop -m immediate, connections cut; ${ROWS} rows`, async () => {
  stage = await openStage('database_outage');
  const s = stage;
  proxy = new TcpProxy(s.pg.port);
  await proxy.start();
  const viaProxy = s.pg.url('database_outage', proxy.port);
  const relayConfig: RelayFixtureConfig = {
    databaseUrl: viaProxy,
    sinkUrl: s.sink.url,
    relay: { leaseMs: LEASE_MS },
  };
  const producerConfig: ProducerFixtureConfig = {
    databaseUrl: viaProxy,
    sinkUrl: s.sink.url,
    rows: ROWS,
    batch: 10,
    ratePerSec: RATE,
    plan: {},
  };
  await s.processes.start('relay', 'relay-1', relayConfig);
  await s.processes.start('relay', 'relay-2', relayConfig);
  const producer = await s.processes.start('producer', 'producer', producerConfig);
  const started = Date.now();
  const disruptions: Disruption[] = [];

  const measure = async (kind: string, disrupt: () => Promise<number>) => {
    await sleep(sized(2000, 5000));
    const downMs = await disrupt();
    const back = Date.now();
    const committedAtBack = committed(producer);
    const relaysGone = () => !s.processes.all.some((p) => p.alive && p.name.startsWith('relay'));
    const relayResumeMs = await firstAfter(() => s.sink.delivered.at(-1)?.at ?? 0, back, relaysGone);
    const producerResumeMs = await firstAfter(
      () => (committed(producer) > committedAtBack ? Date.now() : 0),
      back,
      () => !producer.alive,
    );
    disruptions.push({ kind, downMs, relayResumeMs, producerResumeMs, duplicatesAfter: s.sink.duplicates() });
  };

  for (const mode of ['fast', 'immediate'] as const) {
    await measure(`pg_ctl stop -m ${mode}`, async () => {
      await s.pg.halt(mode);
      await sleep(OUTAGE_MS);
      const t = Date.now();
      await s.pg.resume();
      return OUTAGE_MS + (Date.now() - t);
    });
  }
  await measure('TCP cut during a claim', async () => {
    // Hold the table the relays read (flowbus_log on the log storage) so claims are in flight, then
    // cut every proxied connection.
    await withClient(s.pg.url('database_outage'), async (c) => {
      await c.query('BEGIN');
      await c.query(`LOCK TABLE ${writtenRows.table} IN ACCESS EXCLUSIVE MODE`);
      await sleep(1000);
      proxy!.cut();
      await c.query('COMMIT');
    });
    return 0;
  });

  await producer.waitEvent('done', 180_000).catch(() => undefined);
  const books = await closeBooks(s, ROWS, LEASE_MS + 120_000);
  record('database-outage', {
    rows: ROWS,
    leaseMs: LEASE_MS,
    elapsedMs: Date.now() - started,
    disruptions,
    producerFailures: producer.last('done')?.failures,
    ...books,
  });
  expectBalancedBooks(s, books);
  for (const d of disruptions) {
    expect({ kind: d.kind, relayResumedInTime: d.relayResumeMs <= RESUME_BOUND_MS }).toEqual({
      kind: d.kind,
      relayResumedInTime: true,
    });
    expect({ kind: d.kind, producerResumedInTime: d.producerResumeMs <= RESUME_BOUND_MS }).toEqual({
      kind: d.kind,
      producerResumedInTime: true,
    });
  }
});

function committed(p: FixtureProcess): number {
  return Number(p.last('progress')?.committed ?? 0);
}

/** Milliseconds from `since` until `at()` reports a time after it (polled); -1 after 60 s or once hopeless. */
async function firstAfter(at: () => number, since: number, hopeless: () => boolean): Promise<number> {
  while (Date.now() - since < 60_000 && !hopeless()) {
    const t = at();
    if (t > since) return t - since;
    await sleep(20);
  }
  return -1;
}

import { afterAll, expect, it } from '@jest/globals';
import type { ProducerFixtureConfig } from '../fixtures/producer.fixture.js';
import type { RelayFixtureConfig } from '../fixtures/relay.fixture.js';
import { messageKind, messageNumber, type MessagePlan } from '../fixtures/message-plan.js';
import { withClient } from '../support/books.js';
import { record, sized } from '../support/profile.js';
import { closeBooks, closeStage, expectBalancedBooks, openStage, type Stage } from '../support/scenario.js';

/**
 * Scenario 4, poison and slow: keyed messages, 1% rejected as non-retryable (422), 1% failing on
 * every attempt (503), 1% answered after a long pause; the specials sit on half of the keys. Clean
 * keys flow without stalling; a slow or poison row holds back only its own key (per-key FIFO at the
 * sink); dead letters carry their whole error history.
 */
const ROWS = sized(1000, 10_000);
const KEYS = sized(10, 100);
const SLOW_MS = sized(2000, 5000);
const MAX_ATTEMPTS = 3;
const PLAN: MessagePlan = {
  keys: KEYS,
  specialKeys: KEYS / 2,
  poisonPerHundred: 1,
  failingPerHundred: 1,
  slowPerHundred: 1,
};

let stage: Stage | undefined;
afterAll(() => closeStage(stage));

it(`poison and slow: ${ROWS} keyed rows, 1% poison, 1% failing, 1% slow (${SLOW_MS} ms)`, async () => {
  stage = await openStage('poison_and_slow');
  const s = stage;
  s.sink.slowMs = SLOW_MS;
  const relayConfig: RelayFixtureConfig = {
    databaseUrl: s.databaseUrl,
    sinkUrl: s.sink.url,
    relay: { leaseMs: 30_000 },
    sink: { maxAttempts: MAX_ATTEMPTS, backoff: { initialMs: 200, factor: 2, jitter: 'none' }, timeoutMs: 15_000 },
  };
  const producerConfig: ProducerFixtureConfig = {
    databaseUrl: s.databaseUrl,
    sinkUrl: s.sink.url,
    rows: ROWS,
    batch: 200,
    plan: PLAN,
  };
  await s.processes.start('relay', 'relay-1', relayConfig);
  await s.processes.start('relay', 'relay-2', relayConfig);
  const producer = await s.processes.start('producer', 'producer', producerConfig);
  await producer.waitEvent('done', 120_000);
  const books = await closeBooks(s, ROWS, 180_000);

  const kinds = { clean: 0, poison: 0, failing: 0, slow: 0 };
  for (let n = 0; n < ROWS; n++) kinds[messageKind(PLAN, n)]++;
  const specialKey = (key: string | null) => Number(key!.slice(1)) < PLAN.specialKeys!;

  // Per-key FIFO at the sink: within a key, first acknowledgements arrive in message order.
  const seen = new Set<string>();
  const lastByKey = new Map<string, number>();
  let fifoViolations = 0;
  for (const d of s.sink.delivered) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    if ((lastByKey.get(d.key!) ?? -1) > d.n) fifoViolations++;
    lastByKey.set(d.key!, d.n);
  }
  // Clean keys are not held back: the longest pause between their deliveries, and when they finished.
  const firstAt = s.sink.delivered[0]!.at;
  const clean = s.sink.delivered.filter((d) => !specialKey(d.key));
  let cleanLongestGapMs = 0;
  for (let i = 1; i < clean.length; i++)
    cleanLongestGapMs = Math.max(cleanLongestGapMs, clean[i]!.at - clean[i - 1]!.at);
  const cleanDoneMs = clean.at(-1)!.at - firstAt;
  const specialDoneMs = Math.max(...s.sink.delivered.filter((d) => specialKey(d.key)).map((d) => d.at)) - firstAt;

  const dead = await withClient(s.databaseUrl, (c) =>
    c.query<{ id: string; kind: string; attempts: number; history: number; last_error: string | null }>(
      `SELECT id, payload->>'kind' AS kind, attempts, jsonb_array_length(errors) AS history, last_error
       FROM flowbus_dead_letter`,
    ),
  );
  const badHistory = dead.rows.filter((r) =>
    r.kind === 'poison' ? r.history !== 1 : r.kind === 'failing' ? r.history !== MAX_ATTEMPTS : true,
  );

  record('poison-and-slow', {
    rows: ROWS,
    keys: KEYS,
    kinds,
    slowMs: SLOW_MS,
    fifoViolations,
    cleanLongestGapMs,
    cleanDoneMs,
    specialDoneMs,
    deadLetters: dead.rowCount,
    badHistory: badHistory.length,
    ...books,
  });
  expectBalancedBooks(s, books);
  expect(books.duplicates).toBe(0);
  expect(fifoViolations).toBe(0);
  expect(dead.rowCount).toBe(kinds.poison + kinds.failing);
  expect(badHistory.map((r) => ({ n: messageNumber(r.id), kind: r.kind, history: r.history }))).toEqual([]);
  // A slow row holds back its own key only: clean keys never pause as long as a slow delivery.
  expect(cleanLongestGapMs).toBeLessThan(SLOW_MS);
  expect(cleanDoneMs).toBeLessThan(specialDoneMs);
});

import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { BreakerRegistry, NonRetryableError, OutboxService, type DeliveryMessage } from 'nestjs-flowbus';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import { createFlowbusApp } from './support/app.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { RecordingDestination } from './support/recording-destination.js';

/**
 * Poison and failing rows on the log storage (`relay.storage: 'log'`), the reliability suite's
 * poison-and-slow scenario at a size that runs in seconds: the log's first attempts go on with the
 * other keys, the retries of failing heads (and of the rows parked behind them) come later, due
 * together, with nothing else left to deliver.
 */

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();
const fast = { initialMs: 10, factor: 1, maxMs: 10, jitter: 'none' as const };

interface Row {
  key: string;
  n: number;
  kind: 'clean' | 'failing' | 'poison';
}

const kindOf = (m: DeliveryMessage) => (m.payload as Row).kind;

async function start(sink: RecordingDestination) {
  const app = await createFlowbusApp({
    dataSource: testDb.ds,
    options: {
      destinations: { sink },
      relay: { storage: 'log', pollIntervalMs: 50, backoff: fast },
    },
  });
  apps.push(app);
  return app;
}

/** Fails `failing` rows on every attempt (a retryable error) and refuses `poison` rows for good. */
function sinkOf(): RecordingDestination {
  const sink = new RecordingDestination({ maxAttempts: 3 });
  sink.failWith = (m) =>
    kindOf(m) === 'failing'
      ? new Error(`503 for ${m.id}`)
      : kindOf(m) === 'poison'
        ? new NonRetryableError(`422 for ${m.id}`)
        : undefined;
  return sink;
}

/** Rows `0…perKey-1` of every key, round robin (row j of every key, then row j+1), in one transaction. */
async function produce(
  app: INestApplication,
  keys: string[],
  perKey: number,
  kind: (key: string, n: number) => Row['kind'],
) {
  const rows: Row[] = [];
  for (let n = 0; n < perKey; n++) for (const key of keys) rows.push({ key, n, kind: kind(key, n) });
  const outbox = app.get(OutboxService);
  await outbox.transaction((m) =>
    outbox.enqueue(
      m,
      rows.map((payload) => ({ destination: 'sink', type: 'Row', key: payload.key, payload })),
    ),
  );
  return rows;
}

afterEach(async () => {
  await testDb.ds.query('TRUNCATE flowbus_outbox, flowbus_dead_letter');
});

describe('log storage, failing heads', () => {
  it('retries failing heads, alone and due together, at their backoff: the breaker stays closed and every key drains in order', async () => {
    const sink = sinkOf();
    const app = await start(sink);
    let opened = 0;
    app
      .get(BreakerRegistry)
      .breakerOf('sink')!
      .on('open', () => opened++);
    // 10 keys whose first two rows fail on every attempt (the second one first tried from the retry
    // table, parked behind the first), 30 clean keys.
    const keys = Array.from({ length: 40 }, (_, i) => (i < 10 ? `bad-${i}` : `good-${i}`));
    const rows = await produce(app, keys, 6, (key, n) => (key.startsWith('bad') && n < 2 ? 'failing' : 'clean'));
    const clean = rows.filter((r) => r.kind === 'clean');

    // Each failing row needs three attempts 10 ms apart. Before the fix, the retries of the heads,
    // claimed alone, failed run after run and opened the breaker; its probes could only pick a
    // failing head, so the keys drained one attempt per probe, a second or more apart (minutes).
    await waitFor(() => sink.received.length === clean.length, {
      timeoutMs: 10_000,
      message: `${clean.length} clean rows delivered`,
    });
    await drainOutbox(app);

    const dead = await testDb.ds.query<{ key: string; n: number; attempts: number; history: number }[]>(
      `SELECT key, (payload->>'n')::int AS n, attempts, jsonb_array_length(errors) AS history
       FROM flowbus_dead_letter ORDER BY key, n`,
    );
    expect(dead).toHaveLength(20);
    expect(dead.every((d) => d.attempts === 3 && d.history === 3 && d.n < 2)).toBe(true);
    // Each clean row once, and every key's rows in order.
    expect(new Set(sink.ids()).size).toBe(clean.length);
    for (const key of keys) {
      const got = sink.received.filter((m) => m.key === key).map((m) => (m.payload as Row).n);
      expect({ key, got }).toEqual({ key, got: clean.filter((r) => r.key === key).map((r) => r.n) });
    }
    expect(opened).toBe(0);
  });

  it('holds nothing behind a row dead-lettered at its first attempt: its key goes on from the log', async () => {
    const sink = sinkOf();
    const app = await start(sink);
    await produce(app, ['k', 'other'], 3, (key, n) => (key === 'k' && n === 0 ? 'poison' : 'clean'));
    await waitFor(() => sink.received.length === 5, { message: 'the clean rows delivered' });
    await drainOutbox(app);

    expect(sink.received.filter((m) => m.key === 'k').map((m) => (m.payload as Row).n)).toEqual([1, 2]);
    const [dead] = await testDb.ds.query(`SELECT key, attempts FROM flowbus_dead_letter`);
    expect(dead).toEqual({ key: 'k', attempts: 1 });
    // Nothing waited in the retry table: the dead letter is not a head to wait for (as on the table
    // storage, where the next row is claimable at once).
    expect(await testDb.ds.query(`SELECT id FROM flowbus_outbox`)).toEqual([]);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  BreakerRegistry,
  NonRetryableError,
  OutboxRelay,
  OutboxService,
  type FlowbusOptions,
  type OutboxMessage,
} from 'nestjs-flowbus';
import { ManualClock, waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { createFlowbusApp, deliveredRows, leasesHeld, writtenRows } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { RecordingDestination } from './support/recording-destination.js';

let db: TestDatabase;
const dataSources: DataSource[] = [];
const apps = closeAppsAfterEach();
let ds: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  dataSources.push(ds);
});

afterEach(async () => {
  await ds.query(
    'TRUNCATE flowbus_outbox, flowbus_dead_letter, flowbus_inbox, flowbus_log, flowbus_cursor, flowbus_tick',
  );
});

afterAll(async () => {
  for (const d of dataSources) await d.destroy();
  await db.drop();
});

/** A relay app on its own DataSource (its own pool), as a separate instance would have. */
async function relayApp(options: Omit<FlowbusOptions, 'dataSource'>, ownPool = false) {
  let dataSource = ds;
  if (ownPool) {
    dataSource = await db.dataSource();
    dataSources.push(dataSource);
  }
  const app = await createFlowbusApp({ dataSource, options });
  apps.push(app);
  return app;
}

async function enqueue(app: INestApplication, messages: OutboxMessage | OutboxMessage[]) {
  const outbox = app.get(OutboxService);
  return outbox.transaction((m) => outbox.enqueue(m, messages));
}

const row = async (id: string) => (await ds.query('SELECT * FROM flowbus_outbox WHERE id = $1', [id]))[0];
const deadLetter = async (id: string) => (await ds.query('SELECT * FROM flowbus_dead_letter WHERE id = $1', [id]))[0];
const fast = { pollIntervalMs: 50, listen: false };

describe('retries', () => {
  it('retries with exponential backoff computed from the injected clock', async () => {
    const clock = new ManualClock();
    const sink = new RecordingDestination();
    let failures = 2;
    sink.failWith = () => (failures-- > 0 ? new Error('503 from downstream') : undefined);
    const app = await relayApp({
      clock,
      destinations: { sink },
      relay: { ...fast, backoff: { initialMs: 1000, factor: 2, jitter: 'none' } },
    });
    const [id] = await enqueue(app, { destination: 'sink', type: 'T', payload: {} });
    const first = await waitFor(async () => ((await row(id!)).attempts === 1 ? row(id!) : undefined));
    expect(new Date(first.next_attempt_at).getTime()).toBe(clock.now() + 1000);
    expect(first.last_error).toBe('Error: 503 from downstream');
    // Not due yet: several polls pass without a second attempt.
    await new Promise((r) => setTimeout(r, 200));
    expect((await row(id!)).attempts).toBe(1);
    clock.advance(1000);
    const second = await waitFor(async () => ((await row(id!)).attempts === 2 ? row(id!) : undefined));
    expect(new Date(second.next_attempt_at).getTime()).toBe(clock.now() + 2000);
    clock.advance(2000);
    await waitFor(() => sink.received.length === 1);
    expect(sink.received[0]!.attempts).toBe(2);
    const done = await waitFor(async () => ((await row(id!)).delivered_at ? row(id!) : undefined));
    expect(done.errors.map((e: { attempt: number }) => e.attempt)).toEqual([1, 2]);
  });

  it('dead-letters after maxAttempts with the whole error history, in one move', async () => {
    const sink = new RecordingDestination({ maxAttempts: 3, backoff: { initialMs: 0, jitter: 'none' } });
    let n = 0;
    sink.failWith = () => new Error(`failure ${++n}`);
    const app = await relayApp({ destinations: { sink }, relay: fast });
    const [id] = await enqueue(app, {
      destination: 'sink',
      type: 'Charge',
      key: 'k1',
      payload: { amount: 5 },
      headers: { h: '1' },
    });
    const dead = await waitFor(() => deadLetter(id!));
    expect(await row(id!)).toBeUndefined();
    expect(dead).toMatchObject({
      destination: 'sink',
      type: 'Charge',
      key: 'k1',
      payload: { amount: 5 },
      headers: { h: '1' },
      attempts: 3,
      last_error: 'Error: failure 3',
    });
    expect(dead.errors.map((e: { attempt: number; message: string }) => [e.attempt, e.message])).toEqual([
      [1, 'failure 1'],
      [2, 'failure 2'],
      [3, 'failure 3'],
    ]);
  });

  it('dead-letters a NonRetryableError at once', async () => {
    const sink = new RecordingDestination();
    sink.failWith = () => new NonRetryableError('payload rejected: missing amount');
    const app = await relayApp({ destinations: { sink }, relay: fast });
    const [id] = await enqueue(app, { destination: 'sink', type: 'Charge', payload: {} });
    const dead = await waitFor(() => deadLetter(id!));
    expect(dead.attempts).toBe(1);
    expect(dead.errors[0]).toMatchObject({
      name: 'NonRetryableError',
      code: 'FLOWBUS_NON_RETRYABLE',
      message: 'payload rejected: missing amount',
    });
  });

  it('does not let a poison message delay its neighbours', async () => {
    const sink = new RecordingDestination({ backoff: { initialMs: 60_000, jitter: 'none' } });
    sink.failWith = (m) => ((m.payload as { poison?: boolean }).poison ? new Error('cannot process') : undefined);
    const app = await relayApp({ destinations: { sink }, relay: fast });
    const [poison] = await enqueue(app, { destination: 'sink', type: 'T', payload: { poison: true } });
    const others = await enqueue(
      app,
      Array.from({ length: 50 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await waitFor(() => others.every((id) => sink.ids().includes(id)), { timeoutMs: 5000 });
    // The log storage records a batch's failures once the batch is delivered.
    const p = await waitFor(() => row(poison!));
    expect(p.attempts).toBe(1);
    expect(p.delivered_at).toBeNull();
  });
});

describe('circuit breaker', () => {
  it('opens after failures, stops claiming without burning attempts, half-opens, closes and delivers everything', async () => {
    const sink = new RecordingDestination({
      maxAttempts: 100,
      backoff: { initialMs: 10, factor: 1, jitter: 'none' },
      circuitBreaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 400 },
    });
    let down = true;
    sink.failWith = () => (down ? new Error('connection refused') : undefined);
    const app = await relayApp({ destinations: { sink }, relay: fast });
    const breakers = app.get(BreakerRegistry);
    const first = await enqueue(
      app,
      Array.from({ length: 5 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await waitFor(() => breakers.snapshots().find((b) => b.destination === 'sink')?.state === 'open');
    await app.get(OutboxRelay).whenIdle(); // failures of deliveries started before it opened are still attempts
    const attemptsAtOpen: number = Number((await ds.query('SELECT sum(attempts) AS n FROM flowbus_outbox'))[0].n);
    // While open: new rows are not claimed and no attempts are burnt.
    const later = await enqueue(
      app,
      Array.from({ length: 5 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { later: i } })),
    );
    await new Promise((r) => setTimeout(r, 200));
    const whileOpen = await ds.query('SELECT attempts, lock_owner FROM flowbus_outbox WHERE id = ANY($1)', [later]);
    expect(
      whileOpen.every(
        (r: { attempts: number; lock_owner: string | null }) => r.attempts === 0 && r.lock_owner === null,
      ),
    ).toBe(true);
    expect(Number((await ds.query('SELECT sum(attempts) AS n FROM flowbus_outbox'))[0].n)).toBe(attemptsAtOpen);
    // Destination recovers: the half-open probe succeeds, the breaker closes, everything is delivered.
    down = false;
    await waitFor(() => [...first, ...later].every((id) => sink.ids().includes(id)), { timeoutMs: 5000 });
    expect(breakers.snapshots().find((b) => b.destination === 'sink')?.state).toBe('closed');
    expect(sink.received.filter((m) => later.includes(m.id)).every((m) => m.attempts === 0)).toBe(true);
  });
});

describe('several relays on one database', () => {
  it('two relays deliver 2,000 rows with none delivered twice and none missing', async () => {
    const sinkA = new RecordingDestination();
    const sinkB = new RecordingDestination();
    const a = await relayApp({ destinations: { sink: sinkA }, relay: { ...fast, batchSize: 50 } }, true);
    await relayApp({ destinations: { sink: sinkB }, relay: { ...fast, batchSize: 50 } }, true);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(
        ...(await enqueue(
          a,
          Array.from({ length: 100 }, (_, j) => ({ destination: 'sink', type: 'T', payload: { n: i * 100 + j } })),
        )),
      );
    }
    await waitFor(() => sinkA.received.length + sinkB.received.length >= 2000, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 200));
    const all = [...sinkA.ids(), ...sinkB.ids()];
    expect(all).toHaveLength(2000);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(sinkA.received.length).toBeGreaterThan(0);
    expect(sinkB.received.length).toBeGreaterThan(0);
  });

  it('redelivers the rows of a relay that stopped mid-batch once their lease expires', async () => {
    const stuck = new RecordingDestination();
    let hanging = 0;
    stuck.deliver = () => {
      hanging++;
      return new Promise(() => undefined); // a relay that hangs as if killed mid-batch
    };
    // Its 20 hanging deliveries fill its concurrency, so like a killed relay it claims nothing more.
    const a = await relayApp(
      { destinations: { sink: stuck }, relay: { ...fast, leaseMs: 500, shutdownTimeoutMs: 0, concurrency: 20 } },
      true,
    );
    const ids = await enqueue(
      a,
      Array.from({ length: 20 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await waitFor(() => hanging === 20);
    const healthy = new RecordingDestination();
    await relayApp({ destinations: { sink: healthy }, relay: { ...fast, leaseMs: 500 } }, true);
    await waitFor(() => ids.every((id) => healthy.ids().includes(id)), { timeoutMs: 5000 });
    await waitFor(async () => (await deliveredRows(ds, ids)).length === 20);
  });

  it('keeps per-key FIFO order under two relays', async () => {
    const seen = new Map<string, number[]>();
    const make = () => {
      const d = new RecordingDestination();
      d.deliver = async (m) => {
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        const p = m.payload as { n: number };
        seen.set(m.key!, [...(seen.get(m.key!) ?? []), p.n]);
      };
      return d;
    };
    const a = await relayApp({ destinations: { sink: make() }, relay: { ...fast, batchSize: 20 } }, true);
    await relayApp({ destinations: { sink: make() }, relay: { ...fast, batchSize: 20 } }, true);
    const keys = Array.from({ length: 8 }, (_, k) => `key-${k}`);
    for (let n = 0; n < 25; n++) {
      await enqueue(
        a,
        keys.map((key) => ({ destination: 'sink', type: 'T', key, payload: { n } })),
      );
    }
    await waitFor(() => keys.every((k) => (seen.get(k)?.length ?? 0) === 25), { timeoutMs: 30_000 });
    for (const k of keys) expect(seen.get(k)).toEqual(Array.from({ length: 25 }, (_, n) => n));
  });
});

describe('lifecycle', () => {
  it('wakes a relay in another instance through LISTEN/NOTIFY, well before its poll', async () => {
    const sink = new RecordingDestination();
    const producer = await relayApp({ destinations: { sink }, relay: { enabled: false, notify: true } }, true);
    await relayApp({ destinations: { sink }, relay: { pollIntervalMs: 60_000, listen: true } }, true);
    const started = Date.now();
    const [id] = await enqueue(producer, { destination: 'sink', type: 'T', payload: {} });
    await waitFor(() => sink.ids().includes(id!), { timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('finishes deliveries in flight on shutdown and releases what it still holds', async () => {
    const sink = new RecordingDestination();
    sink.delayMs = 300;
    let started = 0;
    const deliver = sink.deliver.bind(sink);
    sink.deliver = (m) => {
      started++;
      return deliver(m);
    };
    const app = await relayApp({
      destinations: { sink },
      relay: { ...fast, concurrency: 3, batchSize: 3, shutdownTimeoutMs: 5000 },
    });
    const ids = await enqueue(
      app,
      Array.from({ length: 9 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await waitFor(() => started > 0);
    await apps.pop()!.close();
    expect(await leasesHeld(ds)).toBe(0); // nothing left leased
    const delivered = (await deliveredRows(ds, ids)).map((r) => r.id);
    expect(delivered.length).toBeGreaterThanOrEqual(3); // the batch in flight was finished, not dropped
    expect(new Set(delivered)).toEqual(new Set(sink.ids()));
  });

  it('deletes delivered rows after the retention period', async () => {
    const clock = new ManualClock();
    const sink = new RecordingDestination();
    const app = await relayApp({
      clock,
      destinations: { sink },
      relay: { ...fast, retentionMs: 60_000, retentionIntervalMs: 100, retentionBatchSize: 7 },
    });
    const ids = await enqueue(
      app,
      Array.from({ length: 20 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await waitFor(async () => (await deliveredRows(ds, ids)).length === 20);
    const written = async () =>
      Number((await ds.query(`SELECT count(*) AS n FROM ${writtenRows.table} WHERE id = ANY($1)`, [ids]))[0].n);
    await new Promise((r) => setTimeout(r, 250));
    expect(await written()).toBe(20);
    clock.advance(61_000);
    if (writtenRows.table === 'flowbus_log') {
      // The log forgets by generation: this sweep closes the one holding the rows, and it is
      // emptied once it has been closed for retentionMs.
      await new Promise((r) => setTimeout(r, 500));
      expect(await written()).toBe(20);
      clock.advance(61_000);
    }
    await waitFor(async () => (await written()) === 0);
  });
});

describe('claim with the planner pinned to the due index', () => {
  it('claims in one message with its values inlined safely, leaving the session settings as they were', async () => {
    // Internal API on purpose: the relay switches to this form only when EXPLAIN shows a sorting plan.
    const { claimDue, pinnedClaim } = await import('../libs/flowbus/src/outbox/outbox.queries.js');
    // Table storage: the claim of flowbus_outbox rows is its mechanism.
    const app = await relayApp({
      relay: { enabled: false, storage: 'table' },
      destinations: { sink: new RecordingDestination() },
    });
    const ids = await enqueue(
      app,
      Array.from({ length: 3 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    const owner = "relay'; DROP TABLE flowbus_outbox; --\\";
    const now = new Date(Date.now() + 1000);
    const q = pinnedClaim(
      claimDue('public', {
        now,
        leaseUntil: new Date(now.getTime() + 30_000),
        owner,
        limit: 10,
        destinations: ['sink'],
        local: { types: [], names: [] },
      }),
    );
    expect(q.values).toEqual([]);
    const client = await (ds.driver as unknown as { master: import('pg').Pool }).master.connect();
    try {
      const results = (await client.query(q.text)) as unknown as { rows: { id: string }[] }[];
      expect(
        results
          .at(-1)!
          .rows.map((r) => r.id)
          .sort(),
      ).toEqual([...ids].sort());
      expect((await client.query("SELECT current_setting('enable_sort') AS s")).rows[0].s).toBe('on');
    } finally {
      client.release();
    }
    for (const id of ids) expect((await row(id)).lock_owner).toBe(owner);
  });
});

describe('claim cadence', () => {
  it('while draining a backlog, claims again only once half a batch of capacity is free', async () => {
    const release: (() => void)[] = [];
    const seen: string[] = [];
    const held = new RecordingDestination();
    held.deliver = (m) =>
      new Promise<void>((resolve) => {
        seen.push(m.id);
        release.push(resolve);
      });
    // Table storage: the claim loop's cadence (the log relay reads pages of its cursors instead).
    const app = await relayApp({
      destinations: { sink: held },
      relay: { ...fast, batchSize: 10, concurrency: 10, storage: 'table' },
    });
    await enqueue(
      app,
      Array.from({ length: 30 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
    );
    await waitFor(() => seen.length === 10);
    for (const r of release.splice(0, 4)) r();
    // Four free of ten: several polls and settlements go by without a claim.
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(10);
    release.shift()!();
    await waitFor(() => seen.length === 15);
    while (seen.length < 30) {
      for (const r of release.splice(0)) r();
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const r of release.splice(0)) r();
    expect(new Set(seen).size).toBe(30);
  });
});

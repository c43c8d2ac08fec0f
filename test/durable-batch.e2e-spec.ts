import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { HandleEvent, OutboxService } from 'nestjs-flowbus';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import type { DataSource, EntityManager } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

class Packed {
  constructor(
    readonly n: number,
    readonly fail = false,
    readonly swallow = false,
  ) {}
}

class Noted {
  constructor(readonly n: number) {}
}

class Slow {
  constructor(readonly n: number) {}
}

/** Runs of the batched handler: n and the transaction it ran in. */
const packRuns: { n: number; tx: string }[] = [];
const noteTxs: string[] = [];
const slowTxs: string[] = [];
/** Calls of the slow handler running now (calls of one batch run one after the other), and the most seen. */
const slowCalls = { now: 0, most: 0 };

@Injectable()
class Packing {
  @HandleEvent(Packed, { durable: true })
  async pack(e: Packed, manager: EntityManager) {
    const [{ tx }] = (await manager.query('SELECT txid_current()::text AS tx')) as [{ tx: string }];
    packRuns.push({ n: e.n, tx });
    // Written before the throw: the savepoint must take it back.
    await manager.query('INSERT INTO packed (n) VALUES ($1)', [e.n]);
    if (e.fail) throw new Error(`cannot pack ${e.n}`);
    // A failed statement caught here: the transaction is aborted although the call returns.
    if (e.swallow) await manager.query('SELECT no_such_column FROM packed').catch(() => undefined);
  }
}

@Injectable()
class Notes {
  @HandleEvent(Noted, { durable: true, batch: false })
  async note(_e: Noted, manager: EntityManager) {
    const [{ tx }] = (await manager.query('SELECT txid_current()::text AS tx')) as [{ tx: string }];
    noteTxs.push(tx);
  }
}

@Injectable()
class Sluggish {
  @HandleEvent(Slow, { durable: true })
  async on(_e: Slow, manager: EntityManager) {
    const [{ tx }] = (await manager.query('SELECT txid_current()::text AS tx')) as [{ tx: string }];
    slowTxs.push(tx);
    slowCalls.most = Math.max(slowCalls.most, ++slowCalls.now);
    await new Promise((r) => setTimeout(r, 20));
    slowCalls.now--;
  }
}

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
let outbox: OutboxService;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  await ds.query('CREATE TABLE packed (n int)');
  app = await createFlowbusApp({
    dataSource: ds,
    options: {
      relay: { pollIntervalMs: 50, maxAttempts: 3, backoff: { initialMs: 0, jitter: 'none' } },
    },
    providers: [Packing, Notes, Sluggish],
  });
  outbox = app.get(OutboxService);
});

afterAll(async () => {
  await app.close();
  await ds.destroy();
  await db.drop();
});

beforeEach(async () => {
  packRuns.length = 0;
  noteTxs.length = 0;
  await ds.query('TRUNCATE packed');
});

const packedNs = async () => ((await ds.query('SELECT n FROM packed ORDER BY n')) as { n: number }[]).map((r) => r.n);
const undelivered = async () =>
  Number((await ds.query('SELECT count(*) AS n FROM flowbus_outbox WHERE delivered_at IS NULL'))[0].n);

describe('durable handlers in batches', () => {
  it('commits the deliveries of a batch together; a failing one is rolled back and retried alone', async () => {
    const events = Array.from({ length: 10 }, (_, n) => new Packed(n, n === 3));
    const ids = await outbox.transaction((m) => outbox.publish(m, events));
    const failing = ids[3]!;
    const dead = await waitFor(
      async () => (await ds.query('SELECT * FROM flowbus_dead_letter WHERE id = $1', [failing]))[0],
      { timeoutMs: 10_000 },
    );
    // Every other delivery ran once and its row is there once; the failing one left nothing.
    expect(await packedNs()).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    const ok = packRuns.filter((r) => r.n !== 3);
    expect(ok.map((r) => r.n).sort()).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    // One claim, one transaction.
    expect(new Set(ok.map((r) => r.tx)).size).toBe(1);
    // The failing one ran maxAttempts times, retried in transactions of its own.
    const retries = packRuns.filter((r) => r.n === 3);
    expect(retries).toHaveLength(3);
    expect(retries.slice(1).every((r) => r.tx !== ok[0]!.tx)).toBe(true);
    expect(dead).toMatchObject({ subscriber: 'Packing.pack', attempts: 3, last_error: 'Error: cannot pack 3' });
    expect(dead.errors.map((e: { attempt: number; message: string }) => [e.attempt, e.message])).toEqual([
      [1, 'cannot pack 3'],
      [2, 'cannot pack 3'],
      [3, 'cannot pack 3'],
    ]);
    const inbox = await ds.query('SELECT message_id FROM flowbus_inbox WHERE message_id = ANY($1::uuid[])', [ids]);
    expect(inbox).toHaveLength(9);
    expect(await undelivered()).toBe(0);
  });

  it('acknowledges a duplicate in a batch without running it', async () => {
    const ids = Array.from({ length: 5 }, () => randomUUID());
    await outbox.transaction(async (m) => {
      await outbox.enqueue(
        m,
        ids.map((id, n) => ({ id, destination: 'local', type: 'Packed', payload: { n: 10 + n } })),
      );
      // Processed before (a redelivery): its inbox row is there already.
      await m.query(`INSERT INTO flowbus_inbox (message_id, subscriber) VALUES ($1, 'Packing.pack')`, [ids[2]]);
    });
    await drainOutbox(app);
    expect(packRuns.map((r) => r.n).sort()).toEqual([10, 11, 13, 14]);
    expect(await packedNs()).toEqual([10, 11, 13, 14]);
    expect(new Set(packRuns.map((r) => r.tx)).size).toBe(1);
  });

  it('fails alone a call that returned but left the transaction aborted', async () => {
    const ids = await outbox.transaction((m) =>
      outbox.publish(m, [new Packed(20), new Packed(21, false, true), new Packed(22)]),
    );
    const dead = await waitFor(
      async () => (await ds.query('SELECT * FROM flowbus_dead_letter WHERE id = $1', [ids[1]]))[0],
      { timeoutMs: 10_000 },
    );
    expect(dead.last_error).toContain('Packing.pack returned, but a statement it ran failed');
    expect(await packedNs()).toEqual([20, 22]);
    expect(packRuns.filter((r) => r.n !== 21).map((r) => r.n)).toEqual([20, 22]);
  });

  it('sizes batches by how long the handler takes: a slow one gets small transactions side by side', async () => {
    const perTx = () => {
      const count = new Map<string, number>();
      for (const tx of slowTxs) count.set(tx, (count.get(tx) ?? 0) + 1);
      return [...count.values()];
    };
    // Nothing measured yet: the deliveries of one claim go in one transaction.
    await outbox.transaction((m) =>
      outbox.publish(
        m,
        Array.from({ length: 20 }, (_, n) => new Slow(n)),
      ),
    );
    // Committed (its inbox rows are there), so its time was measured before the next ones come.
    const committed = async () =>
      Number((await ds.query(`SELECT count(*)::int AS n FROM flowbus_inbox WHERE subscriber = 'Sluggish.on'`))[0].n);
    await waitFor(async () => (await committed()) === 20, { timeoutMs: 10_000 });
    expect(perTx()).toEqual([20]);
    // 20 ms a delivery: the next ones go 10 to a transaction (the least), not all 40 in one.
    slowTxs.length = 0;
    await outbox.transaction((m) =>
      outbox.publish(
        m,
        Array.from({ length: 40 }, (_, n) => new Slow(n)),
      ),
    );
    await waitFor(() => slowTxs.length === 40, { timeoutMs: 10_000 });
    const sizes = perTx();
    expect(sizes.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    // 200 more make 20 transactions, which run side by side (as many as the pool's free connections allow).
    slowTxs.length = 0;
    slowCalls.most = 0;
    await outbox.transaction((m) =>
      outbox.publish(
        m,
        Array.from({ length: 200 }, (_, n) => new Slow(n)),
      ),
    );
    await waitFor(() => slowTxs.length === 200, { timeoutMs: 20_000 });
    expect(slowCalls.most).toBeGreaterThanOrEqual(4);
  });

  it('gives each delivery a transaction of its own with batch: false', async () => {
    await outbox.transaction((m) => outbox.publish(m, [new Noted(1), new Noted(2), new Noted(3)]));
    await waitFor(() => noteTxs.length === 3, { timeoutMs: 10_000 });
    expect(new Set(noteTxs).size).toBe(3);
  });

  it('refuses a batch option that is not a boolean, or on an in-process handler', async () => {
    @Injectable()
    class BadBatch {
      @HandleEvent(Noted, { durable: true, batch: 'no' as unknown as boolean })
      on() {}
    }
    @Injectable()
    class InProcessBatch {
      @HandleEvent(Noted, { batch: false })
      on() {}
    }
    await expect(createFlowbusApp({ dataSource: ds, providers: [BadBatch] })).rejects.toThrow(
      '@HandleEvent(Noted) on BadBatch.on: batch must be a boolean, got "no"',
    );
    await expect(createFlowbusApp({ dataSource: ds, providers: [InProcessBatch] })).rejects.toThrow(
      'batch is only for durable handlers',
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { OutboxService } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { poolOf } from '../libs/flowbus/src/database/pg-pool.js';
import { createFlowbusApp, gate, writtenRows } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { RecordingDestination } from './support/recording-destination.js';

/**
 * `outbox.transaction(work)`: what a user relies on whatever the storage, and, on the log storage,
 * with the rows written behind (held, then sent with the COMMIT or
 * before the transaction's next statement).
 */

class Placed {
  constructor(
    readonly orderId: string,
    readonly n: number,
  ) {}
}
class Refused {
  constructor(readonly orderId: string) {}
}

// The storage under test, as the shared support sees it (FLOWBUS_TEST_STORAGE or the default).
const onLog = writtenRows.table === 'flowbus_log';
const itOnLog = onLog ? it : it.skip;

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
let outbox: OutboxService;
const sink = new RecordingDestination();

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  await ds.query('CREATE TABLE orders (id text PRIMARY KEY)');
  app = await createFlowbusApp({
    dataSource: ds,
    options: {
      destinations: { sink },
      routes: [
        { event: Placed, destination: 'sink' },
        { event: Refused, destination: 'sink' },
      ],
      relay: { pollIntervalMs: 60_000, listen: false },
    },
  });
  outbox = app.get(OutboxService);
  // A write the database refuses at the INSERT, as a lock or statement timeout, a full disk or a
  // missing privilege would: the rows of type Refused.
  await ds.query(`CREATE FUNCTION refuse_refused() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.type = 'Refused' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;
      RETURN NEW;
    END $$`);
  await ds.query(`CREATE TRIGGER refuse_refused BEFORE INSERT ON ${writtenRows.table}
    FOR EACH ROW EXECUTE FUNCTION refuse_refused()`);
});

afterAll(async () => {
  await app.close();
  await ds.destroy();
  await db.drop();
});

const count = async (sql: string, params: unknown[] = []) => Number((await ds.query(sql, params))[0].n);
const written = (ids: string[]) => count(`SELECT count(*) AS n FROM ${writtenRows.table} WHERE id = ANY($1)`, [ids]);
const orderExists = (id: string) => count('SELECT count(*) AS n FROM orders WHERE id = $1', [id]);
/** Order ids (`orderId:n`) the sink received for orders starting with `prefix`, in delivery order. */
const receivedFor = (prefix: string) =>
  sink.received
    .map((m) => m.payload as { orderId: string; n?: number })
    .filter((p) => p.orderId.startsWith(prefix))
    .map((p) => `${p.orderId}:${p.n}`);

describe('outbox.transaction', () => {
  it('commits the rows with the business statements; a statement after publish sees its rows', async () => {
    const result = await outbox.transaction(async (m) => {
      const [first] = await outbox.publish(m, new Placed('together', 1));
      await m.query('INSERT INTO orders (id) VALUES ($1)', ['together']);
      const seen = await m.query(`SELECT count(*) AS n FROM ${writtenRows.table} WHERE id = $1`, [first]);
      const [second] = await outbox.publish(m, new Placed('together', 2));
      return { ids: [first!, second!], seen: Number(seen[0].n) };
    });
    expect(result.seen).toBe(1);
    expect(await orderExists('together')).toBe(1);
    expect(await written(result.ids)).toBe(2);
    await waitFor(() => receivedFor('together').length === 2 || undefined);
    expect(receivedFor('together')).toEqual(['together:1', 'together:2']);
    expect(sink.received.filter((r) => (r.payload as Placed).orderId === 'together').map((r) => r.id)).toEqual(
      result.ids,
    );
  });

  it('writes nothing when work throws, whether the rows were sent already or not', async () => {
    const ids: string[] = [];
    const failure = new Error('business rule failed');
    await expect(
      outbox.transaction(async (m) => {
        ids.push(...(await outbox.publish(m, new Placed('rolled-back', 1))));
        await m.query('INSERT INTO orders (id) VALUES ($1)', ['rolled-back']);
        ids.push(...(await outbox.publish(m, new Placed('rolled-back', 2))));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(ids).toHaveLength(2);
    expect(await written(ids)).toBe(0);
    expect(await orderExists('rolled-back')).toBe(0);
  });

  it('rejects with the database error when a write fails at commit, and commits nothing of the transaction', async () => {
    const ids: string[] = [];
    await expect(
      outbox.transaction(async (m) => {
        await m.query('INSERT INTO orders (id) VALUES ($1)', ['refused-at-commit']);
        ids.push(...(await outbox.publish(m, new Placed('refused-at-commit', 1))));
        ids.push(...(await outbox.publish(m, new Refused('refused-at-commit'))));
      }),
    ).rejects.toThrow('refused by the test trigger');
    expect(await orderExists('refused-at-commit')).toBe(0);
    expect(await written(ids)).toBe(0);
    // The connection went back to the pool in a usable state.
    const [id] = await outbox.transaction((m) => outbox.publish(m, new Placed('after-refusal', 1)));
    expect(await written([id!])).toBe(1);
  });

  it('reports a write that fails before the next statement at the latest, and commits nothing', async () => {
    const failures: unknown[] = [];
    const failed = (e: unknown) => void failures.push(e);
    await expect(
      outbox.transaction(async (m) => {
        // On the log storage the row is held, and the statement after it fails; else the publish.
        await outbox.publish(m, new Refused('refused-before-statement')).catch(failed);
        await m.query('INSERT INTO orders (id) VALUES ($1)', ['refused-before-statement']).catch(failed);
        throw failures[0];
      }),
    ).rejects.toThrow('refused by the test trigger');
    expect(failures.length).toBeGreaterThan(0);
    expect(await orderExists('refused-before-statement')).toBe(0);
  });

  it('undoes the rows of a savepoint rolled back, keeps those written before it', async () => {
    const inner = new Error('inner step failed');
    const ids = await outbox.transaction(async (m) => {
      const [kept] = await outbox.publish(m, new Placed('savepoint', 1));
      let undone: string | undefined;
      await m
        .transaction(async (nested) => {
          [undone] = await outbox.publish(nested, new Placed('savepoint', 2));
          throw inner;
        })
        .catch((e: unknown) => expect(e).toBe(inner));
      return { kept: kept!, undone: undone! };
    });
    expect(await written([ids.kept])).toBe(1);
    expect(await written([ids.undone])).toBe(0);
  });

  it("keeps a key's order across concurrent transactions, each writer's events in its order", async () => {
    const loops = 4;
    const perLoop = 15;
    const ids = await Promise.all(
      Array.from({ length: loops }, async (_, loop) => {
        const mine: string[] = [];
        for (let n = 0; n < perLoop; n++) {
          const [id] = await outbox.transaction((m) =>
            outbox.publish(m, new Placed(`concurrent-${loop}`, n), { key: 'concurrent' }),
          );
          mine.push(id!);
        }
        return mine;
      }),
    );
    expect(await written(ids.flat())).toBe(loops * perLoop);
    await waitFor(() => receivedFor('concurrent-').length === loops * perLoop || undefined);
    for (let loop = 0; loop < loops; loop++) {
      const order = receivedFor(`concurrent-${loop}`).map((s) => Number(s.split(':')[1]));
      expect(order).toEqual(Array.from({ length: perLoop }, (_, n) => n));
    }
    // The connections went back to the pool as they came: normal mode, their own query method.
    const pool = poolOf(ds) as unknown as { _clients: { pipeline?: boolean }[] };
    expect(pool._clients.length).toBeGreaterThan(1);
    expect(pool._clients.filter((c) => c.pipeline === true || Object.hasOwn(c, 'query'))).toHaveLength(0);
  });

  itOnLog(
    "delivers a key's rows in commit order: a writer whose key is locked commits after the lock's holder",
    async () => {
      const release = gate();
      const reached = gate();
      const holder = outbox.transaction(async (m) => {
        await outbox.publish(m, new Placed('locked-first', 1), { key: 'locked' });
        await m.query('SELECT 1'); // sends the held row: the key's lock is held from here to the commit
        reached.open();
        await release.promise;
      });
      await reached.promise;
      // Only publishes: its row goes with its COMMIT, and waits there for the key.
      const waiter = outbox.transaction((m) => outbox.publish(m, new Placed('locked-second', 1), { key: 'locked' }));
      await waitFor(
        async () =>
          (await count(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)) > 0 ||
          undefined,
      );
      release.open();
      await holder;
      await waiter;
      await waitFor(() => receivedFor('locked-').length === 2 || undefined);
      expect(receivedFor('locked-')).toEqual(['locked-first:1', 'locked-second:1']);
    },
  );

  itOnLog("writes the rows held until commit with the transaction's xid", async () => {
    const { ids, xid } = await outbox.transaction(async (m) => {
      const [before] = await outbox.publish(m, new Placed('xid', 1));
      const [{ x }] = await m.query('SELECT pg_current_xact_id()::text AS x');
      const [atCommit] = await outbox.publish(m, new Placed('xid', 2));
      return { ids: [before!, atCommit!], xid: x as string };
    });
    const rows = await ds.query('SELECT id, txid::text AS txid FROM flowbus_log WHERE id = ANY($1)', [ids]);
    expect(rows.map((r: { txid: string }) => r.txid)).toEqual([xid, xid]);
  });
});

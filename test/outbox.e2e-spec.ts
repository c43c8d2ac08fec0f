import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import {
  HandleEvent,
  InvalidMessageError,
  NotInTransactionError,
  OutboxRelay,
  OutboxService,
  UnknownDestinationError,
} from 'nestjs-flowbus';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import type { DataSource, EntityManager } from 'typeorm';
import { poolOf } from '../libs/flowbus/src/database/pg-pool.js';
import { createFlowbusApp, redeliver, writtenRows } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { RecordingDestination } from './support/recording-destination.js';

class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly total: number,
  ) {}
  describe() {
    return `${this.orderId}:${this.total}`;
  }
}

const handled: string[] = [];

@Injectable()
class Shipping {
  @HandleEvent(OrderPlaced, { durable: true })
  async onPlaced(e: OrderPlaced, manager: EntityManager) {
    await manager.query('INSERT INTO shipments (order_id) VALUES ($1)', [e.orderId]);
    handled.push(`shipping:${e.describe()}`);
  }
}

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
let outbox: OutboxService;
const billing = new RecordingDestination();

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  await ds.query('CREATE TABLE orders (id text PRIMARY KEY)');
  await ds.query('CREATE TABLE shipments (order_id text)');
  app = await createFlowbusApp({
    dataSource: ds,
    options: {
      destinations: { billing },
      routes: [{ event: OrderPlaced, destination: 'billing' }],
      relay: { pollIntervalMs: 60_000, listen: false },
    },
    providers: [Shipping],
  });
  outbox = app.get(OutboxService);
});

afterAll(async () => {
  await app.close();
  await ds.destroy();
  await db.drop();
});

const count = async (sql: string, params: unknown[] = []) => Number((await ds.query(sql, params))[0].n);

describe('OutboxService writes with the caller transaction', () => {
  it('rolls the message back with the business data', async () => {
    const before = await count('SELECT count(*) AS n FROM flowbus_outbox');
    await ds
      .transaction(async (m) => {
        await m.query('INSERT INTO orders (id) VALUES ($1)', ['rolled-back']);
        await outbox.enqueue(m, { destination: 'billing', type: 'Charge', payload: { orderId: 'rolled-back' } });
        throw new Error('business rule failed');
      })
      .catch(() => undefined);
    expect(await count("SELECT count(*) AS n FROM orders WHERE id = 'rolled-back'")).toBe(0);
    expect(await count('SELECT count(*) AS n FROM flowbus_outbox')).toBe(before);
  });

  it('commits the message with the business data and delivers it right after commit (poll is 60 s)', async () => {
    const [id] = await ds.transaction(async (m) => {
      await m.query('INSERT INTO orders (id) VALUES ($1)', ['o-1']);
      return outbox.enqueue(m, {
        destination: 'billing',
        type: 'Charge',
        payload: { orderId: 'o-1' },
        headers: { tenant: 't1' },
      });
    });
    const got = await waitFor(() => billing.received.find((r) => r.id === id), { timeoutMs: 5000 });
    expect(got).toMatchObject({
      destination: 'billing',
      type: 'Charge',
      payload: { orderId: 'o-1' },
      headers: { tenant: 't1' },
      attempts: 0,
    });
    // The table storage records the delivery on the row (the log storage moves a cursor past it).
    if (writtenRows.table === 'flowbus_outbox') {
      await waitFor(
        async () =>
          (await count('SELECT count(*) AS n FROM flowbus_outbox WHERE id = $1 AND delivered_at IS NOT NULL', [id])) ===
          1,
      );
    }
  });

  it('refuses a manager that is not in a transaction', async () => {
    await expect(outbox.enqueue(ds.manager, { destination: 'billing', type: 'X', payload: {} })).rejects.toBeInstanceOf(
      NotInTransactionError,
    );
    await expect(outbox.publish(ds.manager, new OrderPlaced('x', 1))).rejects.toBeInstanceOf(NotInTransactionError);
  });

  it('refuses unknown destinations and invalid messages, naming the field', async () => {
    await ds.transaction(async (m) => {
      await expect(outbox.enqueue(m, { destination: 'nowhere', type: 'X', payload: {} })).rejects.toBeInstanceOf(
        UnknownDestinationError,
      );
      const bad = await outbox
        .enqueue(m, [
          { destination: 'billing', type: 'X', payload: {} },
          { destination: 'billing', type: '', payload: {} },
        ])
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(InvalidMessageError);
      expect((bad as Error).message).toContain('messages[1].type');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(outbox.enqueue(m, { destination: 'billing', type: 'X', payload: cyclic })).rejects.toThrow(
        'message.payload',
      );
    });
  });

  it('writes a batch with one statement and delivers every message', async () => {
    const ids = await outbox.transaction((m) =>
      outbox.enqueue(
        m,
        Array.from({ length: 250 }, (_, i) => ({ destination: 'billing', type: 'Bulk', payload: { i } })),
      ),
    );
    expect(new Set(ids).size).toBe(250);
    await waitFor(() => ids.every((id) => billing.ids().includes(id)), { timeoutMs: 10_000 });
  });
});

describe('OutboxService.transaction (BEGIN sent with the first statement)', () => {
  it('keeps nothing when the work throws after its first statement, the message included', async () => {
    const before = await count(`SELECT count(*) AS n FROM ${writtenRows.table}`);
    const error = await outbox
      .transaction(async (m) => {
        await outbox.enqueue(m, { destination: 'billing', type: 'Charge', payload: { orderId: 'tx-undone' } });
        await m.query('INSERT INTO orders (id) VALUES ($1)', ['tx-undone']);
        throw new Error('business rule failed');
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('business rule failed');
    expect(await count("SELECT count(*) AS n FROM orders WHERE id = 'tx-undone'")).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM ${writtenRows.table}`)).toBe(before);
  });

  it('fails with a failing first statement and keeps nothing written after it', async () => {
    await ds.query("INSERT INTO orders (id) VALUES ('tx-taken')");
    const error = await outbox
      .transaction(async (m) => {
        await m.query('INSERT INTO orders (id) VALUES ($1)', ['tx-taken']);
        await m.query('INSERT INTO orders (id) VALUES ($1)', ['tx-after']);
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('duplicate key');
    expect(await count("SELECT count(*) AS n FROM orders WHERE id = 'tx-after'")).toBe(0);
    // The connection is usable afterwards (the pool hands it out again).
    expect(await outbox.transaction(async (m) => (await m.query('SELECT 1 AS one'))[0].one)).toBe(1);
  });

  it('commits the work with its messages, delivers them right after commit, and gives connections back in normal mode', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        outbox.transaction(async (m) => {
          const [id] = await outbox.enqueue(m, { destination: 'billing', type: 'Charge', payload: { i } });
          await m.query('INSERT INTO orders (id) VALUES ($1)', [`tx-${i}`]);
          return id!;
        }),
      ),
    );
    expect(await count("SELECT count(*) AS n FROM orders WHERE id LIKE 'tx-_'")).toBe(8);
    await waitFor(() => results.every((id) => billing.ids().includes(id)), { timeoutMs: 5000 });
    // A connection left in pipeline mode would refuse the cursors and streams of its next user.
    const pool = poolOf(ds) as unknown as { _clients: { pipeline?: boolean }[] };
    expect(pool._clients.length).toBeGreaterThan(0);
    expect(pool._clients.filter((c) => c.pipeline === true)).toHaveLength(0);
  });
});

describe('OutboxService.publish fans out to durable subscribers', () => {
  it('writes one row per durable handler and per route, and runs the handler in a transaction with an inbox row', async () => {
    const ids = await outbox.transaction(async (m) => {
      await m.query('INSERT INTO orders (id) VALUES ($1)', ['o-2']);
      return outbox.publish(m, new OrderPlaced('o-2', 42), { key: 'o-2' });
    });
    if (writtenRows.table === 'flowbus_outbox') {
      // Table storage: a row (and an id) per subscriber and per route.
      expect(ids).toHaveLength(2);
      const rows: { destination: string; subscriber: string }[] = await ds.query(
        'SELECT destination, subscriber FROM flowbus_outbox WHERE id = ANY($1) ORDER BY destination',
        [ids],
      );
      expect(rows).toEqual([
        { destination: 'billing', subscriber: '' },
        { destination: 'local', subscriber: 'Shipping.onPlaced' },
      ]);
    } else {
      // Log storage: the event once, with one id, read by the handler and the route alike.
      expect(ids).toHaveLength(1);
      expect(await count('SELECT count(*) AS n FROM flowbus_log WHERE id = ANY($1)', [ids])).toBe(1);
    }
    await waitFor(() => handled.includes('shipping:o-2:42'));
    await waitFor(() =>
      billing.received.some(
        (r) => r.type === 'OrderPlaced' && (r.payload as OrderPlaced).orderId === 'o-2' && ids.includes(r.id),
      ),
    );
    // `handled` is written before the handler's transaction commits.
    await waitFor(
      async () => (await count('SELECT count(*) AS n FROM flowbus_inbox WHERE message_id = ANY($1)', [ids])) === 1,
    );
    expect(await count("SELECT count(*) AS n FROM shipments WHERE order_id = 'o-2'")).toBe(1);
  });

  it('acknowledges a redelivered message without running the handler again (inbox)', async () => {
    const [id] = await outbox.transaction((m) =>
      outbox.enqueue(m, { destination: 'local', type: 'OrderPlaced', payload: { orderId: 'o-3', total: 1 } }),
    );
    await waitFor(() => handled.includes('shipping:o-3:1'));
    await app.get(OutboxRelay).whenIdle();
    // Simulate a redelivery: the delivery is made due again as if the relay had crashed before recording it.
    await redeliver(ds, id!, 'Shipping.onPlaced');
    await outbox.transaction(async (m) => outbox.enqueue(m, { destination: 'billing', type: 'Nudge', payload: {} }));
    await waitFor(
      async () =>
        (await count('SELECT count(*) AS n FROM flowbus_outbox WHERE id = $1 AND delivered_at IS NOT NULL', [id])) ===
        1,
    );
    expect(handled.filter((h) => h === 'shipping:o-3:1')).toHaveLength(1);
    expect(await count("SELECT count(*) AS n FROM shipments WHERE order_id = 'o-3'")).toBe(1);
  });
});

describe('drainOutbox (testing helper)', () => {
  it('returns once every due row, including rows written by the handlers it ran, is delivered', async () => {
    const ids = await outbox.transaction(async (m) => {
      await m.query('INSERT INTO orders (id) VALUES ($1)', ['o-drain']);
      return outbox.enqueue(m, [
        ...Array.from({ length: 300 }, (_, i) => ({ destination: 'billing', type: 'Drain', payload: { i } })),
        { destination: 'local', type: 'OrderPlaced', payload: { orderId: 'o-drain', total: 7 } },
      ]);
    });
    await drainOutbox(app);
    expect(ids.every((id) => billing.ids().includes(id) || id === ids.at(-1))).toBe(true);
    expect(handled).toContain('shipping:o-drain:7');
    expect(await count('SELECT count(*) AS n FROM flowbus_outbox WHERE delivered_at IS NULL')).toBe(0);
  });
});

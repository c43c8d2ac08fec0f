import { describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { DeliveryMessage, Destination, FlowbusOptions } from 'nestjs-flowbus';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import { adminApi, createAdminApp, enqueue } from './support/admin-app.js';
import { createFlowbusApp } from './support/app.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { CursorProgress0009Migration } from '../libs/flowbus/src/migrations/0009-cursor-progress.migration.js';

/**
 * The log relay's long batches (issue 12): a batch longer than the lease keeps its cursors, and a
 * relay that stops mid-batch records how far it got, so the next owner delivers only the rest.
 * Log storage only (each app sets `relay.storage: 'log'`, whatever FLOWBUS_TEST_STORAGE says).
 * Each test has its own destination, hence its own cursors.
 */

/** A destination shared by the relays of a test: counts every delivery of each id, slowly. */
class CountingSink implements Destination {
  readonly deliveries = new Map<string, number>();
  delayMs: number;
  /** Deliveries fail (retryably) while this holds. */
  failing = false;
  /** Deliveries of these payloads' `i` fail (retryably). */
  readonly failIndexes = new Set<number>();
  readonly circuitBreaker = false as const;
  readonly backoff = { initialMs: 60_000, jitter: 'none' as const };

  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }

  async deliver(message: DeliveryMessage): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.deliveries.set(message.id, (this.deliveries.get(message.id) ?? 0) + 1);
    if (this.failing || this.failIndexes.has((message.payload as { i: number }).i))
      throw new Error('503 from downstream');
  }

  /** Ids delivered at least once. */
  get distinct(): number {
    return this.deliveries.size;
  }

  /** Deliveries beyond the first of each id. */
  get duplicates(): number {
    let n = 0;
    for (const count of this.deliveries.values()) n += count - 1;
    return n;
  }
}

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();

/** A relay of `name` alone on the log; pages of 2 rows (concurrency 2), so a batch has many pages. */
async function relay(name: string, sink: Destination, relay: NonNullable<FlowbusOptions['relay']> = {}) {
  const app = await createFlowbusApp({
    dataSource: testDb.ds,
    options: {
      destinations: { [name]: sink },
      relay: { storage: 'log', pollIntervalMs: 50, listen: false, concurrency: 2, batchSize: 2, ...relay },
    },
  });
  apps.push(app);
  return app;
}

/** A producer with the admin API and no relay: it writes the backlog and reads the stats. */
async function producer(name: string, sink: Destination) {
  const app = await createAdminApp(testDb.ds, {
    destinations: { [name]: sink },
    relay: { storage: 'log', enabled: false },
  });
  apps.push(app);
  return app;
}

const messages = (name: string, n: number, key?: (i: number) => string | undefined) =>
  Array.from({ length: n }, (_, i) => ({ destination: name, type: 'Invoice', key: key?.(i), payload: { i } }));

const cursors = async (name: string) =>
  (await testDb.ds.query(
    `SELECT part, tick_id::text, owner, epoch::text, window_end::text, done_seq::text, updated_at
     FROM flowbus_cursor WHERE subscriber = $1 ORDER BY part`,
    [`destination:${name}`],
  )) as {
    part: number;
    tick_id: string;
    owner: string | null;
    epoch: string;
    window_end: string | null;
    done_seq: string | null;
  }[];

/** Closes `app` (a graceful shutdown, as on SIGTERM) and forgets it. */
async function close(app: INestApplication) {
  apps.splice(apps.indexOf(app), 1);
  await app.close();
}

describe('log relay, long batches', () => {
  it('keeps the cursors of a batch longer than the lease: a second relay takes nothing over, nothing is delivered twice', async () => {
    const sink = new CountingSink(15);
    const writer = await producer('slow', sink);
    // 160 rows in 80 pages of 15 ms: a batch of over a second, with a lease of 500 ms.
    const a = await relay('slow', sink, { leaseMs: 500 });
    await enqueue(writer, messages('slow', 160));
    await waitFor(() => sink.distinct >= 10, { message: 'relay A delivering' });
    // B leases every cursor whose lease expired: without renewals, all of A's.
    const b = await relay('slow', sink, { leaseMs: 500 });
    await waitFor(() => sink.distinct === 160, { timeoutMs: 20_000, message: 'every row delivered' });
    await drainOutbox(a);
    await drainOutbox(b);
    expect(sink.duplicates).toBe(0);
    expect((await cursors('slow')).every((c) => c.window_end === null && c.done_seq === null)).toBe(true);
  });

  it('records the progress of a relay stopped mid-batch: the next relay delivers only the rest', async () => {
    const sink = new CountingSink(10);
    const writer = await producer('stopped', sink);
    const api = adminApi(writer);
    const pending = async () =>
      (await api.get('/stats').expect(200)).body.outbox.byDestination.find(
        (x: { destination: string }) => x.destination === 'stopped',
      )?.pending ?? 0;
    const a = await relay('stopped', sink);
    await enqueue(writer, messages('stopped', 200));
    await waitFor(() => sink.distinct >= 30, { message: 'relay A delivering' });
    await close(a);
    const deliveredByA = sink.distinct;
    expect(deliveredByA).toBeLessThan(200);
    // Given back with the window done up to A's last page: rows at or below it count as delivered.
    const stopped = await cursors('stopped');
    expect(stopped.every((c) => c.owner === null && c.window_end !== null && c.done_seq !== null)).toBe(true);
    expect(await pending()).toBe(200 - deliveredByA);
    // Its lag counts from the last row delivered, not from the cursor's tick (the 200 rows are the last written).
    const lag = (await api.get('/stats').expect(200)).body.subscribers.find(
      (x: { subscriber: string }) => x.subscriber === 'destination:stopped',
    );
    expect(lag.behindSeq).toBe(200 - deliveredByA);

    sink.delayMs = 0;
    const b = await relay('stopped', sink);
    await drainOutbox(b);
    expect(sink.distinct).toBe(200);
    // The page in flight at the stop was delivered and recorded; the prefetched one was not delivered.
    expect(sink.duplicates).toBe(0);
    expect(await pending()).toBe(0);
    const resumed = await cursors('stopped');
    expect(resumed.every((c) => c.window_end === null && c.done_seq === null)).toBe(true);
    expect(BigInt(resumed[0]!.tick_id)).toBeGreaterThan(BigInt(stopped[0]!.window_end!));
  });

  it('keeps a key parked across a recorded progress: the relay that resumes the batch does not deliver its later rows', async () => {
    const sink = new CountingSink(10);
    // Row 0 (key k) fails: rows 150 and 190 of k wait behind it, whoever delivers them.
    sink.failIndexes.add(0);
    const writer = await producer('parked', sink);
    const a = await relay('parked', sink);
    const ids = await enqueue(
      writer,
      messages('parked', 200, (i) => (i === 0 || i === 150 || i === 190 ? 'k' : undefined)),
    );
    await waitFor(() => sink.distinct >= 30, { message: 'relay A delivering' });
    await close(a);
    expect(sink.deliveries.has(ids[150]!)).toBe(false);
    sink.delayMs = 0;
    await relay('parked', sink);
    // Not drainOutbox: the parked rows are due, behind a head whose retry is a minute away.
    await waitFor(async () => sink.distinct === 198 && (await cursors('parked')).every((c) => c.window_end === null), {
      message: 'the batch resumed and recorded',
    });
    expect(sink.deliveries.get(ids[0]!)).toBe(1);
    expect(sink.deliveries.has(ids[150]!)).toBe(false);
    expect(sink.deliveries.has(ids[190]!)).toBe(false);
    expect(sink.distinct).toBe(198);
    expect(sink.duplicates).toBe(0);
    const parked = await testDb.ds.query(
      `SELECT id, attempts FROM flowbus_outbox WHERE destination = 'parked' AND delivered_at IS NULL ORDER BY seq`,
    );
    expect(parked).toEqual([
      { id: ids[0], attempts: 1 },
      { id: ids[150], attempts: 0 },
      { id: ids[190], attempts: 0 },
    ]);
  });

  it("fences off a stale owner's progress: a relay whose cursors were taken over mid-batch records nothing", async () => {
    const sink = new CountingSink(10);
    sink.failing = true;
    const writer = await producer('fenced', sink);
    const a = await relay('fenced', sink, { leaseMs: 2000 });
    await enqueue(writer, messages('fenced', 200));
    await waitFor(() => sink.distinct >= 10, { message: 'relay A delivering' });
    // Another relay took the cursors over (as after A's lease expired): new owner, new epoch.
    await testDb.ds.query(
      `UPDATE flowbus_cursor SET owner = 'intruder', epoch = epoch + 1, lease_until = now() + interval '1 hour'
       WHERE subscriber = 'destination:fenced'`,
    );
    const taken = await cursors('fenced');
    // Stopping records the progress of the batch (every delivery failed: 1 retry row each) unless
    // fenced off; a renewal that found the cursors taken over stopped the batch already.
    await close(a);
    expect(sink.distinct).toBeLessThan(200);
    expect(await cursors('fenced')).toEqual(taken);
    const [{ n }] = await testDb.ds.query(`SELECT count(*)::int AS n FROM flowbus_outbox WHERE destination = 'fenced'`);
    expect(n).toBe(0);
  });

  it('upgrades a database whose cursors predate migration 9: they deliver from where they are', async () => {
    const schema = 'upgrade';
    const sink = new CountingSink(0);
    const options = (relay: NonNullable<FlowbusOptions['relay']>) => ({
      dataSource: testDb.ds,
      options: {
        schema,
        destinations: { old: sink },
        relay: { storage: 'log' as const, pollIntervalMs: 50, ...relay },
      },
    });
    // Cursors and a backlog written before the upgrade: 9 undone, as on a database at 8.
    const before = await createFlowbusApp(options({ enabled: false }));
    apps.push(before);
    await enqueue(before, messages('old', 5));
    await close(before);
    const runner = testDb.ds.createQueryRunner();
    await new CursorProgress0009Migration(schema).down(runner);
    await runner.release();
    await testDb.ds.query(`DELETE FROM ${schema}.flowbus_migrations WHERE id = 9`);
    const columns = async () =>
      (
        await testDb.ds.query(
          `SELECT column_name FROM information_schema.columns
           WHERE table_schema = $1 AND table_name = 'flowbus_cursor' AND column_name IN ('window_end', 'done_seq')`,
          [schema],
        )
      ).length;
    expect(await columns()).toBe(0);

    const after = await createFlowbusApp(options({}));
    apps.push(after);
    expect(await columns()).toBe(2);
    await enqueue(after, messages('old', 5));
    await drainOutbox(after);
    expect(sink.distinct).toBe(10);
    expect(sink.duplicates).toBe(0);
    const [{ n }] = await testDb.ds.query(
      `SELECT count(*)::int AS n FROM ${schema}.flowbus_cursor WHERE done_seq IS NOT NULL`,
    );
    expect(n).toBe(0);
  });
});

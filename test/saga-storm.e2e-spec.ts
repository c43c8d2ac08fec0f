import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { OutboxService, Saga, SagaStep, type SagaContext } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { createFlowbusApp, undelivered } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * Two app instances relay the same saga's events (one schema, two relays): every instance is
 * started, progressed and finished by events published shuffled, some of them twice, so the two
 * relays' batches touch the same instances in different orders at once. They must queue on the
 * instances, never deadlock, and leave one terminal state per instance.
 */

class StormStarted {
  constructor(readonly id: string) {}
}
class StormProgress {
  constructor(readonly id: string) {}
}
class StormFinished {
  constructor(readonly id: string) {}
}

@Saga({ name: 'storm', initialState: () => ({ progress: 0 }) })
@Injectable()
class StormSaga {
  @SagaStep(StormStarted, { start: true, correlate: (e: StormStarted) => e.id })
  async started(_e: StormStarted, ctx: SagaContext<{ progress: number }>) {
    await log(ctx, 'started');
  }

  @SagaStep(StormProgress, { correlate: (e: StormProgress) => e.id })
  async progressed(_e: StormProgress, ctx: SagaContext<{ progress: number }>) {
    ctx.state.progress++;
    await log(ctx, 'progress');
  }

  @SagaStep(StormFinished, { correlate: (e: StormFinished) => e.id })
  async finished(_e: StormFinished, ctx: SagaContext<{ progress: number }>) {
    await log(ctx, 'finished');
    ctx.complete();
  }
}

/** Steps write through `ctx.manager` too, as real ones do: batches hold their locks longer. */
async function log(ctx: SagaContext<{ progress: number }>, handler: string): Promise<void> {
  await ctx.manager.query('INSERT INTO storm_log (correlation_id, handler) VALUES ($1, $2)', [
    ctx.correlationId,
    handler,
  ]);
}

const SAGAS = 300;
let db: TestDatabase;
const sources: DataSource[] = [];
const apps: INestApplication[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const setup = await db.dataSource();
  await setup.query('CREATE TABLE storm_log (correlation_id text NOT NULL, handler text NOT NULL)');
  await setup.destroy();
  for (let i = 0; i < 2; i++) {
    const ds = await db.dataSource();
    sources.push(ds);
    apps.push(
      await createFlowbusApp({
        dataSource: ds,
        options: { relay: { pollIntervalMs: 50, backoff: { initialMs: 10, maxMs: 50 } } },
        providers: [StormSaga],
      }),
    );
  }
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const ds of sources) await ds.destroy();
  await db?.drop();
});

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('two relays delivering one saga’s events together', () => {
  it('never deadlock and leave one terminal state per instance', async () => {
    const outbox = apps[0]!.get(OutboxService);
    const ids = Array.from({ length: SAGAS }, (_, i) => `storm-${i}`);
    const withDuplicates = (events: object[]) => shuffle([...events, ...events.filter(() => Math.random() < 0.5)]);
    const publish = async (events: object[]) => {
      for (let i = 0; i < events.length; i += 100) {
        await outbox.transaction(async (m) => {
          for (const e of events.slice(i, i + 100)) await outbox.publish(m, e);
        });
      }
    };
    await publish(
      withDuplicates([
        ...ids.map((id) => new StormStarted(id)),
        ...ids.map((id) => new StormProgress(id)),
        ...ids.map((id) => new StormProgress(id)),
      ]),
    );
    const ds = sources[0]!;
    const pending = () => undelivered(ds);
    await waitFor(async () => (await pending()) === 0, { timeoutMs: 60_000, message: 'every start delivered' });
    await publish(withDuplicates(ids.map((id) => new StormFinished(id))));
    await waitFor(async () => (await pending()) === 0, { timeoutMs: 60_000, message: 'every finish delivered' });

    const deadlocks = await ds.query(
      `SELECT id, type FROM flowbus_outbox WHERE errors::text LIKE '%deadlock detected%' LIMIT 3`,
    );
    const byStatus = await ds.query(
      `SELECT status, count(*)::int AS n FROM flowbus_saga WHERE saga_name = 'storm' GROUP BY status`,
    );
    const dead = await ds.query(`SELECT count(*)::int AS n FROM flowbus_dead_letter`);
    expect({ deadlocks, byStatus, dead: dead[0].n }).toEqual({
      deadlocks: [],
      byStatus: [{ status: 'completed', n: SAGAS }],
      dead: 0,
    });
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { connect as amqpConnect } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { amqpSource, HandleEvent, OutboxRelay } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import pg from 'pg';
import { StallDiagnosis } from '../libs/flowbus/src/admin/stall-diagnosis.js';
import { adminApi, createAdminApp, enqueue } from './support/admin-app.js';
import { portOpen, RABBIT_URL } from './support/brokers.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';
import { RecordingDestination } from './support/recording-destination.js';

/** "Why is it stalled?": GET /stats names what holds delivery back. */

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();

afterEach(async () => {
  await testDb.ds.query('DELETE FROM flowbus_outbox');
});

async function start(sink = new RecordingDestination({ circuitBreaker: false })): Promise<INestApplication> {
  // A 10-minute lease: a lease counts as stale once taken over 5 minutes ago.
  const app = await createAdminApp(testDb.ds, { destinations: { sink }, relay: { leaseMs: 600_000 } });
  apps.push(app);
  return app;
}

class StallPing {
  n!: number;
}

@Injectable()
class StallPingHandler {
  @HandleEvent(StallPing, { durable: true })
  onPing(): void {}
}

async function stalled(
  app: INestApplication,
): Promise<{ kind: string; message: string; count?: number; source?: string }[]> {
  return (await adminApi(app).get('/stats').expect(200)).body.stalled;
}

describe('GET /stats: stalled', () => {
  it('is empty when nothing holds delivery back', async () => {
    const app = await start();
    expect(await stalled(app)).toEqual([]);
  });

  it('names an open breaker', async () => {
    const sink = new RecordingDestination({ circuitBreaker: { volumeThreshold: 1, consecutiveFailures: 1 } });
    sink.failWith = () => new Error('down');
    const app = await start(sink);
    await enqueue(
      app,
      [1, 2].map((n) => ({ destination: 'sink', type: 'Ping', payload: { n } })),
    );
    const causes = await waitFor(async () => {
      const c = await stalled(app);
      return c.some((x) => x.kind === 'breaker-open') ? c : undefined;
    });
    expect(causes).toContainEqual({
      kind: 'breaker-open',
      destination: 'sink',
      message: 'The circuit breaker of "sink" is open: its messages are not claimed until a probe succeeds',
    });
  });

  it('names rows leased long ago by a relay that is not this one', async () => {
    const app = await start();
    // Leased 6 of its 10 minutes ago by an instance that never wrote an outcome (a claim sets
    // next_attempt_at to the lease end too, so no relay claims it meanwhile).
    await testDb.ds.query(
      `INSERT INTO flowbus_outbox (id, destination, subscriber, type, payload, locked_until, next_attempt_at, lock_owner)
       VALUES ($1, 'sink', '', 'Stuck', '{}', now() + interval '4 minutes', now() + interval '4 minutes', 'gone-host:42:deadbeef')`,
      [randomUUID()],
    );
    const causes = await stalled(app);
    expect(causes).toContainEqual(expect.objectContaining({ kind: 'stale-lease', destination: 'sink', count: 1 }));
    expect(causes.find((c) => c.kind === 'stale-lease')!.message).toContain('leased by relay gone-host:42:deadbeef');
  });

  it('names messages for a durable subscriber that no app has', async () => {
    const app = await start();
    await testDb.ds.query(
      `INSERT INTO flowbus_outbox (id, destination, subscriber, type, payload) VALUES ($1, 'local', 'Gone.handle', 'Orphan', '{}')`,
      [randomUUID()],
    );
    expect(await stalled(app)).toContainEqual({
      kind: 'no-subscriber',
      destination: 'local',
      subscriber: 'Gone.handle',
      count: 1,
      message: '1 Orphan message(s) for subscriber "Gone.handle", which no app has: removed or renamed?',
    });
  });

  it('names a transaction left open, which holds PostgreSQL’s horizon', async () => {
    const app = await start();
    const client = new pg.Client({ connectionString: testDb.db.url, application_name: 'forgotten-tx' });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT txid_current()');
      await new Promise((r) => setTimeout(r, 300));
      const causes = await app.get(StallDiagnosis).causes(0, 100);
      const old = causes.find((c) => c.kind === 'old-transaction');
      expect(old?.message).toMatch(
        /^Transaction of backend \d+ \([^)]*forgotten-tx, idle in transaction\) open since /,
      );
      expect(old?.message).toContain('Last query: SELECT txid_current()');
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  it('names a stopped relay while messages wait', async () => {
    const app = await start();
    await enqueue(app, { destination: 'sink', type: 'Later', payload: {}, availableAt: new Date(Date.now() + 60_000) });
    await app.get(OutboxRelay).beforeApplicationShutdown();
    expect(await stalled(app)).toContainEqual({
      kind: 'relay-stopped',
      message: 'The relay of this instance is stopped',
    });
  });
});

const rabbitUp = await portOpen(5672);
if (!rabbitUp) console.log('Skipping the source-paused test: RabbitMQ (5672) is not running');

(rabbitUp ? describe : describe.skip)('GET /stats: stalled, sources', () => {
  it('names a source paused by flow control, and no longer once it resumed', async () => {
    const queue = `flowbus-stall-${randomUUID()}`;
    // No relay here: what the source stores stays undelivered, past its maxBacklog.
    const app = await createAdminApp(
      testDb.ds,
      {
        relay: { enabled: false },
        sources: { held: amqpSource({ url: RABBIT_URL, queue, maxBacklog: 10, prefetch: 10 }) },
      },
      { providers: [StallPingHandler] },
    );
    apps.push(app);
    const rabbit = await amqpConnect(RABBIT_URL);
    try {
      const channel = await rabbit.createChannel();
      for (let n = 0; n < 50; n++) {
        channel.sendToQueue(queue, Buffer.from(JSON.stringify({ n })), { messageId: randomUUID(), type: 'StallPing' });
      }
      const cause = await waitFor(async () => (await stalled(app)).find((c) => c.kind === 'source-paused'), {
        timeoutMs: 10_000,
      });
      expect(cause).toMatchObject({ kind: 'source-paused', source: 'held' });
      expect(cause.count).toBeGreaterThanOrEqual(10);
      expect(cause.message).toContain('Source "held" is paused by flow control');
      expect(cause.message).toContain('maxBacklog 10');

      // A relay elsewhere delivers the backlog: the source resumes, takes the rest, and is no longer named.
      apps.push(await createAdminApp(testDb.ds, {}, { providers: [StallPingHandler] }));
      await waitFor(
        async () =>
          (await channel.checkQueue(queue)).messageCount === 0 &&
          !(await stalled(app)).some((c) => c.kind === 'source-paused'),
        { timeoutMs: 20_000 },
      );
      await channel.deleteQueue(queue);
    } finally {
      await rabbit.close();
    }
  });
});

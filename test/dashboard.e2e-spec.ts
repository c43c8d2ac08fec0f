import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { AppModule } from '../apps/demo/src/app.module.js';
import { poolOf } from '../libs/flowbus/src/database/pg-pool.js';
import { LogReader } from '../libs/flowbus/src/outbox/log-reader.js';
import { RetentionService } from '../libs/flowbus/src/relay/retention.service.js';
import { ADMIN_TOKEN, createAdminApp, enqueue, insertSaga, SwitchableSink } from './support/admin-app.js';
import { testStorage, withTestStorage } from './support/app.js';
import { findChromium } from './support/chromium.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * The dashboard in a real browser (Chromium driven by playwright-core; see support/chromium.ts), loaded against
 * the demo app (apps/demo's AppModule, with two test destinations added): sign in with the
 * token, see the figures, requeue a dead letter by clicking, and check it left the dead-letter
 * table in the page and in the database. Not skipped when Chromium is missing.
 */

const ARTIFACTS = new URL('./artifacts/', import.meta.url);
const XSS = '<img src=x onerror="window.__pwned=1">';

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;
let browser: Browser | undefined;
let browserToLaunch: Awaited<ReturnType<typeof findChromium>>;
let url: string;
const sink = new SwitchableSink();

beforeAll(async () => {
  browserToLaunch = await findChromium();
  db = await createTestDatabase();
  ds = await db.dataSource();
  const port = await freePort();
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppModule.forRoot({
        databaseUrl: db.url,
        selfUrl: `http://127.0.0.1:${port}`,
        adminToken: ADMIN_TOKEN,
        // The storage under test (FLOWBUS_TEST_STORAGE, else the default, log).
        flowbus: withTestStorage({
          relay: { pollIntervalMs: 50, listen: false },
          destinations: { sink, payments: new SwitchableSink({ circuitBreaker: { volumeThreshold: 5 } }) },
        }),
      }),
    ],
  }).compile();
  app = moduleRef.createNestApplication({ logger: process.env.FLOWBUS_TEST_LOGS ? undefined : false });
  await app.listen(port, '127.0.0.1');
  url = `http://127.0.0.1:${port}/flowbus/`;
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await ds?.destroy();
  await db?.drop();
});

/**
 * A new page in the one browser of this file. Pages stay open until afterAll: the packaged
 * Chromium runs as a single process that exits with its last page, and a `newPage` sent to a
 * browser that is exiting can hang with no timeout (seen in CI as a 120 s test timeout).
 */
async function openPage(): Promise<Page> {
  browser ??= await chromium.launch({
    executablePath: browserToLaunch.executablePath,
    args: browserToLaunch.args,
    headless: true,
    timeout: 60_000,
  });
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.setDefaultTimeout(30_000);
  return page;
}

/** Console errors and page errors, less the 401s the sign-in flow provokes on purpose. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('dialog', (d) => {
    if (d.type() !== 'confirm') problems.push(`unexpected ${d.type()}: ${d.message()}`);
    void d.accept();
  });
  return problems;
}

describe('dashboard', () => {
  it('signs in with the token, shows the figures, requeues a dead letter by clicking', async () => {
    // Data for every panel: dead letters (one with markup in its type), pending messages, a saga.
    sink.reject = true;
    const [toRequeue, other] = await enqueue(app, [
      { destination: 'sink', type: 'ChargeCard', payload: { orderId: 'o-1', amount: 4200 }, key: 'o-1' },
      { destination: 'sink', type: XSS, payload: { note: XSS } },
    ]);
    await waitFor(async () => (await ds.query('SELECT count(*) AS n FROM flowbus_dead_letter'))[0].n === '2');
    sink.reject = false;
    await enqueue(
      app,
      [1, 2, 3].map((i) => ({
        destination: 'payments',
        type: 'CapturePayment',
        payload: { i },
        availableAt: new Date(Date.now() + 600_000),
      })),
    );
    await enqueue(app, { destination: 'sink', type: 'ShipOrder', payload: { orderId: 'o-2' } });
    await insertSaga(ds, {
      name: 'order-fulfillment',
      correlationId: 'o-1',
      state: { step: 'awaiting-payment', total: 4200 },
      timeouts: [{ type: 'PaymentTimeout', dueAt: new Date(Date.now() + 900_000) }],
    });
    await insertSaga(ds, {
      name: 'order-fulfillment',
      correlationId: 'o-0',
      status: 'completed',
      state: { step: 'shipped' },
    });

    const page = await openPage();
    const problems = watch(page);
    await page.goto(url);

    // No token yet: the sign-in form, no data.
    await page.locator('#token').waitFor();
    expect(await page.locator('#app').isHidden()).toBe(true);

    // A wrong token: the API answers 401 and the page says so.
    await page.fill('#token', 'not-the-token-at-all');
    await page.click('#connect');
    await page.locator('#banner', { hasText: '401' }).waitFor();
    await page.screenshot({ path: new URL('dashboard-login.png', ARTIFACTS).pathname });

    // The right token: figures appear.
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#connect');
    await page.locator('#app').waitFor();
    expect(await page.locator('#banner').isHidden()).toBe(true);
    const deadTile = page.locator('.tile', { hasText: 'Dead letters' }).locator('.value');
    await expect(deadTile.textContent()).resolves.toBe('2');
    await page.locator('[data-list="outbox"] tr.row').first().waitFor();
    expect(await page.locator('[data-list="outbox"] tr.row').count()).toBe(4);
    // The id column shows the random tail of each UUIDv7 (its head is the time, equal for all
    // four rows): distinct per row, a suffix of the row's id, the whole id in its title.
    const ids = await page.locator('[data-list="outbox"] tr.row').evaluateAll((rows) =>
      rows.map((r) => ({
        id: r.getAttribute('data-id')!,
        shown: r.querySelector('.id')!.textContent!,
        title: r.querySelector('.id')!.getAttribute('title'),
      })),
    );
    expect(new Set(ids.map((i) => i.shown)).size).toBe(4);
    for (const { id, shown, title } of ids) {
      expect(shown).toMatch(/^\u2026[0-9a-f]{12}$/);
      expect(id.endsWith(shown.slice(1))).toBe(true);
      expect(title).toBe(id);
    }
    await page.screenshot({ path: new URL('dashboard-outbox.png', ARTIFACTS).pathname, fullPage: true });

    // Dead letters, with the error history of one; markup in data is shown as text.
    await page.click('[data-tab="dead-letters"]');
    const row = page.locator(`[data-list="dead-letters"] tr.row[data-id="${toRequeue}"]`);
    await row.waitFor();
    await page.locator(`[data-list="dead-letters"] tr.row[data-id="${other}"]`).click();
    await page.locator('ol.history li', { hasText: 'NonRetryableError' }).waitFor();
    expect(await page.locator('[data-list="dead-letters"] tr.row').getByText(XSS, { exact: true }).count()).toBe(1);
    expect(await page.locator('[data-list="dead-letters"] img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();

    // Requeue by clicking: the row leaves the table, and the database agrees.
    await row.locator('button[data-action="requeue"]').click();
    await row.waitFor({ state: 'detached' });
    await page.locator('.toast', { hasText: 'Requeued' }).waitFor();
    expect(await ds.query('SELECT id FROM flowbus_dead_letter WHERE id = $1', [toRequeue])).toEqual([]);
    expect(await ds.query('SELECT id FROM flowbus_outbox WHERE id = $1', [toRequeue])).toEqual([{ id: toRequeue }]);
    await waitFor(() => sink.ids().includes(toRequeue!), { message: 'delivery of the requeued message' });
    // The tile comes from the stats: a refresh that started before the requeue committed may still
    // show 2 for a moment; the next one shows 1.
    await waitFor(
      async () => {
        if ((await deadTile.textContent()) === '1') return true;
        await page.click('#refresh');
        return false;
      },
      { timeoutMs: 10_000, intervalMs: 250, message: 'the dead-letter tile at 1 after the requeue' },
    );
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname, fullPage: true });

    // Sagas with state and timeouts; breakers.
    await page.click('[data-tab="sagas"]');
    await page.locator('[data-list="sagas"] tr.row[data-id="o-1"]').click();
    await page.locator('ol.history li', { hasText: 'PaymentTimeout' }).waitFor();
    await page.locator('pre', { hasText: 'awaiting-payment' }).waitFor();
    await page.screenshot({ path: new URL('dashboard-sagas.png', ARTIFACTS).pathname, fullPage: true });
    await page.click('[data-tab="breakers"]');
    await page.locator('.breaker', { hasText: 'payments' }).locator('.pill.closed').waitFor();
    await page.screenshot({ path: new URL('dashboard-breakers.png', ARTIFACTS).pathname, fullPage: true });

    // The remaining dead letter can be deleted (after a confirm).
    await page.click('[data-tab="dead-letters"]');
    await page.locator(`[data-list="dead-letters"] tr.row[data-id="${other}"] button[data-action="delete"]`).click();
    await page.locator('[data-list="dead-letters"] .empty', { hasText: 'No dead letters' }).waitFor();
    expect(await ds.query('SELECT id FROM flowbus_dead_letter')).toEqual([]);

    expect(problems).toEqual([]);
  });
});

describe('dashboard: conversations, timelines, charts, stall causes', () => {
  it("shows the demo order's conversation as a tree, the saga timeline, the charts and why delivery is stalled", async () => {
    const http = request(app.getHttpServer());
    const placed = await http
      .post('/orders')
      .send({ customer: 'ada@example.com', items: [{ sku: 'MOUSE-PRO', qty: 1 }] })
      .expect(201);
    const orderId = placed.body.id as string;
    await waitFor(async () => (await http.get(`/orders/${orderId}`).expect(200)).body.saga?.status === 'completed', {
      timeoutMs: 15_000,
      message: 'the order saga to complete',
    });
    // A message for a subscriber no app has: the stall panel names it.
    await ds.query(
      `INSERT INTO flowbus_outbox (id, destination, subscriber, type, payload) VALUES (gen_random_uuid(), 'local', 'Retired.handle', 'Orphaned', '{}')`,
    );

    const page = await openPage();
    const problems = watch(page);
    await page.goto(url);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#connect');
    await page.locator('#app').waitFor();

    // Why is it stalled?
    await page.locator('#stalled [data-cause="no-subscriber"]', { hasText: 'Retired.handle' }).waitFor();
    // Charts: throughput and backlog of the last hour per destination, drawn as SVG.
    const localChart = page.locator('[data-chart="local"]');
    await localChart.waitFor();
    expect(await localChart.locator('svg polyline').count()).toBe(3);
    // Not flat: the order's deliveries are in the last minute's bucket. On the log storage a
    // delivery counts as delivered once its reader's cursor is recorded past it, which may come a
    // moment after the saga step it ran: refresh until the chart shows it.
    const flat = async () => {
      const points = await localChart.locator('polyline.delivered').getAttribute('points');
      return new Set(points!.split(' ').map((p) => p.split(',')[1])).size <= 1;
    };
    await waitFor(
      async () => {
        if (!(await flat())) return true;
        await page.click('#refresh');
        return false;
      },
      {
        timeoutMs: 10_000,
        intervalMs: 250,
        message: "the order's deliveries in the delivered line of the local chart",
      },
    );
    await page.screenshot({ path: new URL('dashboard-charts.png', ARTIFACTS).pathname, fullPage: true });

    // The order's OrderPlaced, then its conversation: placed → payment → inventory → shipping.
    await page.fill('[data-filters="outbox"] input[name="type"]', 'OrderPlaced');
    await page.click('[data-filters="outbox"] button[type="submit"]');
    const row = page.locator('[data-list="outbox"] tr.row').first();
    await row.waitFor();
    await row.click();
    await page.locator('button[data-action="conversation"]').click();
    const tree = page.locator('#conversation ul.tree');
    await tree.waitFor();
    const path = [
      'OrderPlaced',
      'ChargePayment',
      'PaymentSucceeded',
      'ReserveInventory',
      'InventoryReserved',
      'ShipOrder',
      'OrderShipped',
    ];
    // Each message sits under the one that caused it.
    let node = tree;
    for (const type of path) {
      node = node.locator(':scope > li').filter({ has: page.locator(`:scope > .node[data-type="${type}"]`) });
      await expect(node.count()).resolves.toBe(1);
      await expect(node.locator(':scope > .node .pill').textContent()).resolves.toBe('delivered');
      node = node.locator(':scope > ul');
    }
    await page.screenshot({ path: new URL('dashboard-conversation.png', ARTIFACTS).pathname, fullPage: true });

    // The saga's timeline.
    await page.click('[data-tab="sagas"]');
    await page.locator(`[data-list="sagas"] tr.row[data-id="${orderId}"]`).click();
    const timeline = page.locator('ol.timeline');
    await timeline.waitFor();
    for (const type of ['OrderPlaced', 'ChargePayment', 'OrderShipped']) {
      await timeline.locator('li', { hasText: type }).first().waitFor();
    }
    await page.screenshot({ path: new URL('dashboard-saga-timeline.png', ARTIFACTS).pathname, fullPage: true });

    expect(problems).toEqual([]);
  }, 120_000);
});

describe('dashboard: log subscribers', () => {
  it('lists each subscriber with its lag, retires one nobody reads after a confirm, and shows the 409 for a live one', async () => {
    const http = request(app.getHttpServer());
    const stats = async () => (await http.get('/flowbus/stats').auth(ADMIN_TOKEN, { type: 'bearer' }).expect(200)).body;
    const page = await openPage();
    const problems = watch(page);
    const confirms: string[] = [];
    page.on('dialog', (d) => {
      if (d.type() === 'confirm') confirms.push(d.message());
    });
    await page.goto(url);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#connect');
    await page.locator('#app').waitFor();
    const tab = page.locator('[data-tab="subscribers"]');

    if (testStorage() === 'table') {
      // No cursors on the table storage: no tab, nothing to retire.
      await page.locator('#updated', { hasText: 'Updated' }).waitFor();
      expect((await stats()).subscribers).toEqual([]);
      expect(await tab.isHidden()).toBe(true);
      expect(problems).toEqual([]);
      return;
    }

    // A subscriber of an app that is gone: cursors registered, no relay reads them; then a
    // message is written after it, so it falls behind.
    await new LogReader(poolOf(ds), 'public').register('local:gone-app');
    await enqueue(app, { destination: 'sink', type: 'AfterGone', payload: {} });
    await waitFor(
      async () =>
        (await stats()).subscribers.some(
          (s: { subscriber: string; behindSeq: number }) => s.subscriber === 'local:gone-app' && s.behindSeq > 0,
        ),
      { message: 'local:gone-app to fall behind' },
    );
    // The app's own relay has announced destination:sink: it is a live reader.
    await waitFor(
      async () =>
        Number((await ds.query(`SELECT count(*) AS n FROM flowbus_relay WHERE subscriber = 'destination:sink'`))[0].n) >
        0,
      { message: 'the relay to announce destination:sink' },
    );

    await tab.waitFor();
    await tab.click();
    const gone = page.locator('#subscribers tr[data-subscriber="local:gone-app"]');
    await gone.waitFor();
    // Rows behind (a positive number), lag, and no retention mark (nothing is due to be emptied).
    expect(Number((await gone.locator('td').nth(1).textContent())!.replace(/\D/g, ''))).toBeGreaterThan(0);
    await expect(gone.locator('td').nth(2).textContent()).resolves.toMatch(/^\d+(s|m \d+s)$/);
    expect(await gone.locator('.pill.blocks').count()).toBe(0);
    const live = page.locator('#subscribers tr[data-subscriber="destination:sink"]');
    await live.waitFor();
    await page.screenshot({ path: new URL('dashboard-subscribers.png', ARTIFACTS).pathname, fullPage: true });

    // A live subscriber: the server's 409 is shown, and it stays.
    await live.locator('button[data-action="retire"]').click();
    await page.locator('.toast.error', { hasText: 'still read by a running relay' }).waitFor();
    expect(confirms.pop()).toContain('destination:sink');
    await live.locator('button[data-action="retire"]:not([disabled])').waitFor();
    expect(
      Number((await ds.query(`SELECT count(*) AS n FROM flowbus_cursor WHERE subscriber = 'destination:sink'`))[0].n),
    ).toBeGreaterThan(0);

    // The one nobody reads: retired after the confirm, gone from the table and the database.
    await gone.locator('button[data-action="retire"]').click();
    await page.locator('.toast', { hasText: 'Retired local:gone-app' }).waitFor();
    expect(confirms.pop()).toContain('local:gone-app');
    await gone.waitFor({ state: 'detached' });
    expect(await ds.query(`SELECT part FROM flowbus_cursor WHERE subscriber = 'local:gone-app'`)).toEqual([]);
    expect((await stats()).subscribers.map((s: { subscriber: string }) => s.subscriber)).not.toContain(
      'local:gone-app',
    );
    await live.waitFor();

    // The browser logs the refused DELETE; nothing else went wrong.
    expect(problems.filter((p) => !/status of 409/.test(p))).toEqual([]);
  }, 60_000);
});

describe('dashboard: a subscriber that blocks retention', () => {
  // Log storage only: the table storage has no cursors or generations (its tab stays hidden, above).
  (testStorage() === 'log' ? it : it.skip)(
    'is marked, and retiring it through the page removes the row and lets the sweep empty the generation',
    async () => {
      // Its own database and app: retention at 0 empties delivered history, which the demo app's
      // tests above read.
      const own = await createTestDatabase();
      const ownDs = await own.dataSource();
      const ownApp = await createAdminApp(ownDs, {
        destinations: { sink: new SwitchableSink() },
        relay: { storage: 'log', retentionMs: 0, retentionIntervalMs: 3_600_000 },
      });
      try {
        const port = await freePort();
        await ownApp.listen(port, '127.0.0.1');
        await new LogReader(poolOf(ownDs), 'public').register('local:gone-app');
        const ids = await enqueue(
          ownApp,
          Array.from({ length: 5 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
        );
        const left = async () =>
          Number((await ownDs.query('SELECT count(*)::int AS n FROM flowbus_log WHERE id = ANY($1)', [ids]))[0].n);
        await drainOutbox(ownApp);
        // Two sweeps: the first closes the generation, the second finds it held back.
        const retention = ownApp.get(RetentionService);
        await retention.sweep();
        await drainOutbox(ownApp);
        await retention.sweep();
        expect(await left()).toBe(ids.length);

        const page = await openPage();
        const problems = watch(page);
        await page.goto(`http://127.0.0.1:${port}/flowbus/`);
        await page.fill('#token', ADMIN_TOKEN);
        await page.click('#connect');
        await page.locator('[data-tab="subscribers"] .count.alert', { hasText: '2' }).waitFor();
        await page.click('[data-tab="subscribers"]');
        const gone = page.locator('#subscribers tr.blocking[data-subscriber="local:gone-app"]');
        await gone.locator('.pill.blocks', { hasText: 'blocks retention' }).waitFor();
        expect(await page.locator('#subscribers .pill.blocks').count()).toBe(1);
        await page.screenshot({
          path: new URL('dashboard-subscribers-blocking.png', ARTIFACTS).pathname,
          fullPage: true,
        });

        await gone.locator('button[data-action="retire"]').click();
        await gone.waitFor({ state: 'detached' });
        await page.locator('[data-tab="subscribers"] .count:not(.alert)', { hasText: '1' }).waitFor();
        await drainOutbox(ownApp);
        await waitFor(
          async () => {
            await retention.sweep();
            return (await left()) === 0;
          },
          { timeoutMs: 15_000, intervalMs: 200, message: 'retention to empty the generation once retired' },
        );
        expect(problems).toEqual([]);
      } finally {
        await ownApp.close();
        await ownDs.destroy();
        await own.drop();
      }
    },
    60_000,
  );
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

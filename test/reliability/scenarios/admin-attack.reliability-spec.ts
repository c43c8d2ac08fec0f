import { afterAll, expect, it } from '@jest/globals';
import { chromium } from 'playwright-core';
import type { AdminFixtureConfig } from '../fixtures/admin.fixture.js';
import { pendingRows, processBooks, withClient } from '../support/books.js';
import { writtenRows } from '../../support/app.js';
import { findChromium } from '../../support/chromium.js';
import { hostileRequests, type HostileRequest } from '../support/hostile-requests.js';
import { record, sized } from '../support/profile.js';
import { closeStage, openStage, sleep, type Stage } from '../support/scenario.js';
import { freePort } from '../support/scratch-postgres.js';

/**
 * Scenario 6, admin under attack: an app with the admin API and dead letters whose every field
 * carries markup and scripts receives over a thousand hostile requests (credentials, traversal,
 * methods, huge and nested bodies, odd parameters, bad cursors and limits): no 500, no 2xx without
 * credentials (the dashboard page itself is public and holds no data), the tables unchanged. Then
 * concurrent requeue/delete races on the same dead letters: each ends requeued or deleted, once.
 * Finally a real browser renders the hostile rows in the dashboard and nothing executes.
 */
const TOKEN = 'reliability-admin-token-0123456789abcdef';
const ROUNDS = sized(1, 3);
const RACED = sized(10, 40);
const HOSTILE_TEXTS = [
  '<img src=x onerror="window.__pwned=(window.__pwned||0)+1">',
  '<script>window.__pwned=1</script>',
  '"><svg onload="window.__pwned=1">',
  '\'><iframe srcdoc="<script>parent.__pwned=1</script>">',
  'javascript:window.__pwned=1',
  '<a href="javascript:window.__pwned=1">x</a>',
  '{{constructor.constructor("window.__pwned=1")()}}',
  '${window.__pwned=1}',
  '</textarea><script>window.__pwned=1</script>',
  '<style>*{display:none}</style>',
  '\u202e<b>reversed</b>',
  "'; DROP TABLE flowbus_outbox; --",
];
// On the log storage the messages themselves are in flowbus_log (flowbus_outbox holds retries).
const TABLES = [
  ...new Set([writtenRows.table, 'flowbus_outbox']),
  ...['flowbus_dead_letter', 'flowbus_inbox', 'flowbus_saga', 'flowbus_saga_timeout'],
];

let stage: Stage | undefined;
afterAll(() => closeStage(stage));

it('admin under attack: hostile requests, requeue/delete races, hostile payloads in the dashboard', async () => {
  stage = await openStage('admin_attack');
  const s = stage;
  const port = await freePort();
  const hostile = Array.from({ length: 66 }, (_, i) => HOSTILE_TEXTS[i % HOSTILE_TEXTS.length]! + ` #${i}`);
  const app = await s.processes.start('admin', 'admin-app', {
    databaseUrl: s.databaseUrl,
    sinkUrl: s.sink.url,
    port,
    token: TOKEN,
    hostile: [...hostile, ...Array.from({ length: RACED }, (_, i) => `raced ${i}`)],
    clean: 20,
  } satisfies AdminFixtureConfig);
  const base = `http://127.0.0.1:${port}/flowbus/`;
  const expectedDead = hostile.length + RACED;
  await waitUntil(async () => (await count(s.databaseUrl, 'flowbus_dead_letter')) === expectedDead, 60_000);
  await waitUntil(async () => (await pendingRows(s.databaseUrl)) === 0, 60_000);

  // Hostile requests: nothing valid among them, so nothing may change.
  const before = await checksums(s.databaseUrl);
  const requests = Array.from({ length: ROUNDS }, () => hostileRequests(TOKEN)).flat();
  const byStatus: Record<string, number> = {};
  const breaches: string[] = [];
  const errors: string[] = [];
  const send = async (r: HostileRequest) => {
    const { status, html } = await rawRequest(base, r);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    // The dashboard page is public (it asks for the token) and holds no data.
    if (r.anonymous && status >= 200 && status < 300 && !html) breaches.push(`${status} ${r.method} ${r.path}`);
    if (status >= 500 || status === 0) errors.push(`${status} ${r.family} ${r.method} ${r.path.slice(0, 120)}`);
  };
  // Family by family, so a change in the tables names the family that made it.
  const changedBy: string[] = [];
  let previous = before;
  for (const family of [...new Set(requests.map((r) => r.family))]) {
    const batch = requests.filter((r) => r.family === family);
    // Bodies one at a time, checked after each: a body that changes the tables is named.
    const step = family === 'body' ? 1 : 16;
    for (let i = 0; i < batch.length; i += step) {
      await Promise.all(batch.slice(i, i + step).map(send));
      if (step > 1) continue;
      const now = await checksums(s.databaseUrl);
      if (JSON.stringify(now) !== JSON.stringify(previous)) {
        changedBy.push(`${batch[i]!.method} ${batch[i]!.path} ${batch[i]!.body?.slice(0, 80)}`);
      }
      previous = now;
    }
    const now = await checksums(s.databaseUrl);
    if (JSON.stringify(now) !== JSON.stringify(previous)) changedBy.push(family);
    previous = now;
  }
  const after = await checksums(s.databaseUrl);

  // Races: each raced dead letter is requeued and deleted by several concurrent requests.
  const raced = await withClient(s.databaseUrl, async (c) =>
    (
      await c.query<{ id: string }>(`SELECT id FROM flowbus_dead_letter WHERE payload->>'text' LIKE 'raced %'`)
    ).rows.map((r) => r.id),
  );
  const raceStatus: Record<string, number> = {};
  await Promise.all(
    raced.flatMap((id) =>
      [
        { method: 'POST', path: `dead-letters/${id}/requeue` },
        { method: 'DELETE', path: `dead-letters/${id}` },
        { method: 'POST', path: `dead-letters/${id}/requeue` },
        { method: 'DELETE', path: `dead-letters/${id}` },
        { method: 'POST', path: 'dead-letters/requeue', body: JSON.stringify({ ids: [id] }) },
      ].map(async (r) => {
        const { status } = await rawRequest(base, {
          ...r,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        });
        raceStatus[status] = (raceStatus[status] ?? 0) + 1;
        if (status >= 500 || status === 0) errors.push(`${status} race ${r.method} ${r.path}`);
      }),
    ),
  );
  const raceOutcome = await withClient(s.databaseUrl, async (c) => {
    const one = async (sql: string) => Number((await c.query(sql, [raced])).rows[0].n);
    return {
      inBoth: await one(
        'SELECT count(*)::int AS n FROM flowbus_outbox o JOIN flowbus_dead_letter d USING (id) WHERE o.id = ANY($1)',
      ),
      requeued: await one('SELECT count(*)::int AS n FROM flowbus_outbox WHERE id = ANY($1)'),
      stillDead: await one('SELECT count(*)::int AS n FROM flowbus_dead_letter WHERE id = ANY($1)'),
    };
  });

  // The dashboard renders the hostile rows as text.
  const browserCheck = await dashboardExecutesNothing(base, hostile.length);

  record('admin-attack', {
    requests: requests.length,
    byStatus,
    breaches: breaches.length,
    breachSample: breaches.slice(0, 10),
    serverErrors: errors.length,
    serverErrorSample: errors.slice(0, 10),
    tablesChanged: TABLES.filter((t) => before[t] !== after[t]),
    changedBy,
    raced: raced.length,
    raceStatus,
    raceOutcome,
    browser: browserCheck,
  });
  expect(processBooks(s.processes)).toEqual({ unexpectedDeaths: [], tripped: [] });
  expect(app.alive).toBe(true);
  expect(requests.length).toBeGreaterThanOrEqual(1000);
  expect(errors).toEqual([]);
  expect(breaches).toEqual([]);
  expect(after).toEqual(before);
  expect(raced).toHaveLength(RACED);
  // Requeued (back in the outbox, maybe delivered since) or deleted; never both, never in limbo twice.
  expect(raceOutcome.inBoth).toBe(0);
  expect(raceOutcome.requeued + raceOutcome.stillDead).toBeLessThanOrEqual(RACED);
  expect(browserCheck).toMatchObject({ status: 'checked', pwned: null, problems: [] });
});

/** One request; its status, or 0 when the connection failed and the server no longer answers. */
async function rawRequest(
  base: string,
  r: { method: string; path: string; headers: Record<string, string>; body?: string | undefined },
): Promise<{ status: number; html: boolean }> {
  try {
    const res = await fetch(base + r.path, {
      method: r.method,
      headers: r.headers,
      body: r.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return { status: res.status, html: /^text\/html/.test(res.headers.get('content-type') ?? '') };
  } catch {
    // A connection reset on a body the server refuses to read counts as refused, not as an error,
    // only when the server is still answering afterwards.
    const health = await fetch(`${base}stats`, { headers: { authorization: 'Bearer x' } }).catch(() => undefined);
    return { status: health ? 413 : 0, html: false };
  }
}

async function dashboardExecutesNothing(
  base: string,
  rows: number,
): Promise<{ status: string; pwned?: unknown; problems?: string[]; rowsShown?: number }> {
  const { executablePath, args } = await findChromium();
  const browser = await chromium.launch({ executablePath, args });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => {
      problems.push(`dialog ${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(base);
    await page.fill('#token', TOKEN);
    await page.click('#connect');
    await page.locator('#app').waitFor();
    await page.click('[data-tab="dead-letters"]');
    await page.locator('[data-list="dead-letters"] tr.row').first().waitFor();
    // Open a few rows so their details (payload, history) render too.
    const shown = page.locator('[data-list="dead-letters"] tr.row');
    for (let i = 0; i < Math.min(12, await shown.count()); i++) {
      await shown.nth(i).click();
      await sleep(100);
    }
    const pwned = await page.evaluate('window.__pwned ?? null');
    const injected = await page
      .locator('[data-list="dead-letters"] img, [data-list="dead-letters"] svg, iframe')
      .count();
    if (injected > 0) problems.push(`${injected} injected element(s)`);
    return { status: 'checked', pwned, problems, rowsShown: Math.min(rows, await shown.count()) };
  } finally {
    await browser.close();
  }
}

async function checksums(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const out: Record<string, string> = {};
    for (const t of TABLES) {
      const r = await c.query(
        `SELECT count(*) AS n, md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) AS sum FROM ${t} x`,
      );
      out[t] = `${r.rows[0].n}:${r.rows[0].sum}`;
    }
    return out;
  });
}

function count(url: string, table: string): Promise<number> {
  return withClient(url, async (c) => Number((await c.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n));
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(200);
  }
}

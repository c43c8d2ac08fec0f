import pg from 'pg';
import { deliveredRows, queryable, testStorage, undelivered } from '../../support/app.js';
import { messageId } from '../fixtures/message-plan.js';
import type { HttpSink } from './http-sink.js';
import type { ProcessRegistry } from './processes.js';

/**
 * The books at the end of a scenario: every message enqueued (numbers 0…rows-1) is either
 * delivered (acknowledged by the sink and marked delivered) or dead-lettered with a reason; none
 * lost; nothing left leased or pending; duplicates counted.
 */
export interface OutboxBooks {
  expected: number;
  delivered: number;
  deadLettered: number;
  /** Dead letters without an error history or a last error. */
  deadWithoutReason: number;
  /** Deliveries not done yet (outbox rows; on the log also rows a cursor is not past). */
  pending: number;
  /** Pending outbox rows (on the log: retries) still holding a lease owner. */
  leased: number;
  lost: number;
  lostSample: number[];
  /** Rows marked delivered that the sink never acknowledged. */
  deliveredUnacked: number;
  duplicates: number;
}

export async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Deliveries still to do (pending or leased): undelivered outbox rows, plus, on the log storage
 * (the log storage, see testStorage), log rows a subscriber's cursor is not past yet.
 */
export async function pendingRows(url: string): Promise<number> {
  return withClient(url, (c) => undelivered(queryable(c)));
}

/**
 * Polls until nothing is left to deliver; gives up after `timeoutMs` or as soon as `hopeless()`
 * (no relay left alive). Returns how long it waited and whether everything was delivered.
 */
export async function settle(
  url: string,
  timeoutMs: number,
  hopeless: () => boolean = () => false,
): Promise<{ settled: boolean; settleMs: number }> {
  const started = Date.now();
  for (;;) {
    const pending = await pendingRows(url).catch(() => -1);
    if (pending === 0) return { settled: true, settleMs: Date.now() - started };
    if (Date.now() - started > timeoutMs || hopeless()) return { settled: false, settleMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function outboxBooks(url: string, sink: HttpSink, rows: number): Promise<OutboxBooks> {
  return withClient(url, async (c) => {
    const outbox = await c.query<{ id: string; delivered: boolean; leased: boolean }>(
      `SELECT id, delivered_at IS NOT NULL AS delivered, lock_owner IS NOT NULL AS leased FROM flowbus_outbox`,
    );
    const dead = await c.query<{ id: string; reasoned: boolean }>(
      `SELECT id, (last_error IS NOT NULL AND jsonb_array_length(errors) > 0) AS reasoned FROM flowbus_dead_letter`,
    );
    const deliveredIds = new Set(outbox.rows.filter((r) => r.delivered).map((r) => r.id));
    // On the log a row delivered at its first attempt has no outbox row: its cursor is past it.
    if (testStorage() === 'log') {
      const written = await c.query<{ id: string }>('SELECT id FROM flowbus_log WHERE destination IS NOT NULL');
      const delivered = await deliveredRows<{ id: string }>(
        queryable(c),
        written.rows.map((r) => r.id),
      );
      for (const r of delivered) deliveredIds.add(r.id);
    }
    const deadIds = new Map(dead.rows.map((r) => [r.id, r.reasoned]));
    const lostSample: number[] = [];
    let lost = 0;
    for (let n = 0; n < rows; n++) {
      const id = messageId(n);
      const ok = (deliveredIds.has(id) && sink.acks.has(id)) || deadIds.get(id) === true;
      if (!ok) {
        lost++;
        if (lostSample.length < 10) lostSample.push(n);
      }
    }
    const pending = outbox.rows.filter((r) => !r.delivered);
    const pendingCount = testStorage() === 'log' ? await undelivered(queryable(c)) : pending.length;
    return {
      expected: rows,
      delivered: deliveredIds.size,
      deadLettered: deadIds.size,
      deadWithoutReason: [...deadIds.values()].filter((reasoned) => !reasoned).length,
      pending: pendingCount,
      leased: pending.filter((r) => r.leased).length,
      lost,
      lostSample,
      deliveredUnacked: [...deliveredIds].filter((id) => !sink.acks.has(id)).length,
      duplicates: sink.duplicates(),
    };
  });
}

/** The process half of the books: nothing died unless killed, no tripwire (unhandled rejection…). */
export function processBooks(processes: ProcessRegistry): { unexpectedDeaths: string[]; tripped: string[] } {
  return { unexpectedDeaths: processes.unexpectedDeaths(), tripped: processes.tripped() };
}

import type pg from 'pg';
import { OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { sleep } from '../support/monotonic.js';
import { tell, type Message } from '../support/worker-process.js';
import { flowbusRowCount, flowbusTablesBytes } from './flowbus-schema.js';
import { noopDestination, orderMessage } from './noop-destination.js';

export const SIZE_SCHEMA = 'bench_relay_size';

/**
 * Retention of the size section, through the library's public options only: delivered history
 * older than `retentionMs` is forgotten by the library's own sweep every `retentionIntervalMs`.
 */
export const SIZE_RETENTION = { retentionMs: 1_000, retentionIntervalMs: 500 } as const;
/** Producer loops of a cycle, and messages per transaction. */
const PRODUCERS = 4;
const ROWS_PER_TX = 1_000;
/** Retention counts as done when the rows left are at most this share of a cycle's rows... */
const RETAINED_SHARE = 0.1;
/** ...and have not changed for this long. */
const STABLE_MS = 1_000;
const POLL_MS = 250;
const RETENTION_TIMEOUT_MS = 120_000;

/** One cycle: sizes after writing, delivering and retaining its rows. */
export interface SizeCycle {
  /** `pg_total_relation_size` over every `flowbus_` table of the schema after retention. */
  readonly bytes: number;
  /** Rows left over every `flowbus_` table after retention. */
  readonly rowsLeft: number;
  /** Seconds from the first write of the cycle to its last delivery. */
  readonly deliverSeconds: number;
  /** Seconds from the last delivery until retention was done (or gave up). */
  readonly retainSeconds: number;
  /** False when the rows left never came down to 10% of the cycle within the timeout. */
  readonly retained: boolean;
}

/**
 * Child: one app with its relay (library defaults, plus `SIZE_RETENTION`) delivering to the no-op
 * destination. Every `cycle` message writes `rows` messages (4 producer loops, 1,000-message
 * `OutboxService.enqueue` transactions) while the relay delivers, and answers once all are delivered.
 */
export async function sizeChild(url: string): Promise<(m: Message) => Promise<void>> {
  let delivered = 0;
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: {
      schema: SIZE_SCHEMA,
      destinations: { noop: noopDestination(() => delivered++) },
      relay: SIZE_RETENTION,
      timeouts: { enabled: false },
    },
  });
  const outbox = flowbus.app.get(OutboxService);
  let n = 0;
  tell({ type: 'ready' });
  return async (m) => {
    if (m.type === 'cycle') {
      const rows = m.rows as number;
      const started = performance.now();
      const target = delivered + rows;
      let left = rows;
      const loop = async () => {
        while (left > 0) {
          const count = Math.min(ROWS_PER_TX, left);
          left -= count;
          const batch = Array.from({ length: count }, () => orderMessage(++n));
          await outbox.transaction((manager) => outbox.enqueue(manager, batch));
        }
      };
      await Promise.all(Array.from({ length: PRODUCERS }, loop));
      const deadline = Date.now() + 300_000;
      while (delivered < target) {
        if (Date.now() > deadline) throw new Error(`size: ${target - delivered} of ${rows} rows not delivered`);
        await sleep(20);
      }
      tell({ type: 'delivered', seconds: (performance.now() - started) / 1000 });
    } else if (m.type === 'stop') {
      await flowbus.close();
    }
  };
}

/**
 * Parent, after a cycle was delivered: waits for the library's retention (at least one
 * `retentionMs` and two sweeps), until the rows left over every `flowbus_` table are at most 10%
 * of a cycle and steady for a second, then measures the tables' size.
 */
export async function afterRetention(db: pg.Client, cycleRows: number, deliverSeconds: number): Promise<SizeCycle> {
  const started = Date.now();
  const earliest = started + SIZE_RETENTION.retentionMs + 2 * SIZE_RETENTION.retentionIntervalMs;
  let last = -1;
  let steadySince = Date.now();
  let rows: number;
  for (;;) {
    rows = await flowbusRowCount(db, SIZE_SCHEMA);
    if (rows !== last) {
      last = rows;
      steadySince = Date.now();
    }
    const steady = Date.now() - steadySince >= STABLE_MS;
    if (Date.now() >= earliest && steady && rows <= cycleRows * RETAINED_SHARE) break;
    if (Date.now() - started > RETENTION_TIMEOUT_MS) break;
    await sleep(POLL_MS);
  }
  return {
    bytes: await flowbusTablesBytes(db, SIZE_SCHEMA),
    rowsLeft: rows,
    deliverSeconds,
    retainSeconds: (Date.now() - started) / 1000,
    retained: rows <= cycleRows * RETAINED_SHARE,
  };
}

import { randomUUID } from 'node:crypto';
import { OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp, type FlowbusApp } from '../support/flowbus-app.js';
import { connectClient } from '../support/pg-client.js';
import { createClaimMarkTable } from './contenders/raw-pg.contender.js';
import { resetSchema } from './flowbus-schema.js';
import { noopDestination, orderMessage } from './noop-destination.js';

/** One writer of the enqueue bench: who writes the row, with or without NOTIFY. */
export interface EnqueueWriter {
  readonly id: string;
  readonly label: string;
}

export const ENQUEUE_WRITERS: readonly EnqueueWriter[] = [
  { id: 'plain', label: 'plain INSERT of the same row into the bench copy of the 0.1 table' },
  { id: 'outbox', label: 'OutboxService.enqueue, relay.notify false (default)' },
  { id: 'outbox-notify', label: 'OutboxService.enqueue, relay.notify true (pg_notify in the transaction)' },
];

export const ENQUEUE_CLIENTS = [1, 4] as const;

/** Result key of a writer at a client count, e.g. `outbox-c4`. */
export const enqueueKey = (writer: string, clients: number) => `${writer}-c${clients}`;

const SCHEMA = 'bench_relay_enqueue';
/** Each writer runs this long at a time, in turn, until its total time is reached. */
const SLICE_MS = 250;

/**
 * Child: single-row transactions from `clients` concurrent loops. The three writers take turns
 * in short slices (so a busy moment on the machine hits them alike) and each gets `durationMs`
 * in all, after a warm-up of each:
 * - `outbox`: `outbox.transaction(m => outbox.enqueue(m, msg))` in an app with relay.notify false;
 * - `outbox-notify`: the same in a second app (own DataSource) with relay.notify true, while a
 *   plain connection LISTENs on the channel as a relay in another instance would;
 * - `plain`: `dataSource.transaction(m => m.query(INSERT ...))` of the row 0.1's enqueue wrote, into
 *   the bench's copy of the 0.1 table (id made and payload serialised in Node), on the first app's
 *   DataSource.
 * Neither app runs a relay (`relay.enabled: false`): this is the producer's cost alone.
 */
export async function enqueueChild(
  clients: number,
  url: string,
  warmupMs: number,
  durationMs: number,
): Promise<Record<string, number>> {
  const start = (notify: boolean) =>
    startFlowbusApp({
      databaseUrl: url,
      options: {
        schema: SCHEMA,
        destinations: { noop: noopDestination(() => undefined) },
        relay: { enabled: false, notify },
        timeouts: { enabled: false },
      },
    });
  const admin = await connectClient(url);
  await resetSchema(admin, SCHEMA);
  const plainTable = await createClaimMarkTable(admin);
  await admin.end();
  const quiet = await start(false);
  const notifying = await start(true);
  const listener = await connectClient(url);
  await listener.query(`LISTEN "flowbus_outbox_${SCHEMA}"`);

  let n = 0;
  const insert = `INSERT INTO ${plainTable}
    (id, destination, subscriber, type, key, payload, headers, next_attempt_at)
    VALUES ($1::uuid, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::timestamptz)`;
  const viaOutbox = (app: FlowbusApp) => {
    const outbox = app.app.get(OutboxService);
    return () => outbox.transaction((m) => outbox.enqueue(m, orderMessage(++n)));
  };
  const writers: Record<string, () => Promise<unknown>> = {
    plain: () =>
      quiet.dataSource.transaction(async (m) => {
        const msg = orderMessage(++n);
        await m.query(insert, [
          randomUUID(),
          msg.destination,
          '',
          msg.type,
          null,
          JSON.stringify(msg.payload),
          '{}',
          new Date(),
        ]);
      }),
    outbox: viaOutbox(quiet),
    'outbox-notify': viaOutbox(notifying),
  };
  const spent = new Map<string, { ms: number; done: number; cpuUs: number }>();
  const slice = async (id: string, ms: number, count: boolean) => {
    const write = writers[id]!;
    let done = 0;
    const until = performance.now() + ms;
    const loop = async () => {
      while (performance.now() < until) {
        await write();
        done++;
      }
    };
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: clients }, loop));
    if (!count) return;
    const used = process.cpuUsage(cpu);
    const s = spent.get(id) ?? { ms: 0, done: 0, cpuUs: 0 };
    spent.set(id, {
      ms: s.ms + performance.now() - started,
      done: s.done + done,
      cpuUs: s.cpuUs + used.user + used.system,
    });
  };
  for (const w of ENQUEUE_WRITERS) await slice(w.id, warmupMs, false);
  for (let t = 0; t < durationMs; t += SLICE_MS) {
    for (const w of ENQUEUE_WRITERS) await slice(w.id, SLICE_MS, true);
  }
  await listener.end();
  await notifying.close();
  await quiet.close();
  for (const w of ENQUEUE_WRITERS) {
    const x = spent.get(w.id)!;
    console.log(`  ${w.id}: ${(x.cpuUs / x.done).toFixed(1)} µs Node CPU per transaction`);
  }
  return Object.fromEntries(ENQUEUE_WRITERS.map((w) => [w.id, (spent.get(w.id)!.done * 1000) / spent.get(w.id)!.ms]));
}

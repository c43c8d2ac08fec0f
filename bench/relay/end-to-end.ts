import { OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { connectClient } from '../support/pg-client.js';
import { resetSchema } from './flowbus-schema.js';
import { noopDestination, orderMessage } from './noop-destination.js';

/** Producers writing while the relay of the same app delivers. */
export interface EndToEndConfig {
  readonly id: string;
  readonly label: string;
  readonly rowsPerTx: number;
  readonly clients: number;
}

export const END_TO_END_CONFIGS: readonly EndToEndConfig[] = [
  { id: 'e2e-single', label: '4 producers, 1-row transactions', rowsPerTx: 1, clients: 4 },
  { id: 'e2e-batch100', label: '4 producers, 100-row transactions', rowsPerTx: 100, clients: 4 },
];

export interface EndToEndResult {
  readonly producedPerSec: number;
  readonly deliveredPerSec: number;
  /** Rows written but not yet delivered when the window closed (written − delivered since start). */
  readonly backlog: number;
}

const SCHEMA = 'bench_relay_e2e';

/**
 * Child: one app, on a freshly dropped schema (no statistics yet), with `clients` producer loops
 * (each transaction enqueues `rowsPerTx` messages with one `OutboxService.enqueue` call) and its
 * own relay at the library's default settings, woken in-process after every commit. Produced and
 * delivered rows are counted in the process over the same window after a warm-up.
 */
export async function endToEndChild(
  c: EndToEndConfig,
  url: string,
  warmupMs: number,
  durationMs: number,
): Promise<EndToEndResult> {
  const db = await connectClient(url);
  await resetSchema(db, SCHEMA);
  await db.end();
  let delivered = 0;
  let produced = 0;
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: {
      schema: SCHEMA,
      destinations: { noop: noopDestination(() => delivered++) },
      timeouts: { enabled: false },
    },
  });
  const outbox = flowbus.app.get(OutboxService);
  let n = 0;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const batch = Array.from({ length: c.rowsPerTx }, () => orderMessage(++n));
      await outbox.transaction((m) => outbox.enqueue(m, batch));
      produced += batch.length;
    }
  };
  const producers = Array.from({ length: c.clients }, loop);
  await new Promise((r) => setTimeout(r, warmupMs));
  const start = { at: performance.now(), produced, delivered };
  await new Promise((r) => setTimeout(r, durationMs));
  const end = { at: performance.now(), produced, delivered };
  stop = true;
  await Promise.all(producers);
  await flowbus.close();
  const seconds = (end.at - start.at) / 1000;
  return {
    producedPerSec: (end.produced - start.produced) / seconds,
    deliveredPerSec: (end.delivered - start.delivered) / seconds,
    backlog: end.produced - end.delivered,
  };
}

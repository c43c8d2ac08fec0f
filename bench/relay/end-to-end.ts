import { OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
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
  /** Rows written but not yet delivered when the window closed (counted in the database). */
  readonly backlog: number;
}

const SCHEMA = 'bench_relay_e2e';
/** The relay settings of the headline drain (batch 100, concurrency 200: the defaults). */
export const END_TO_END_RELAY = { batchSize: 100, concurrency: 200 } as const;

/**
 * Child: one app with `clients` producer loops (each transaction enqueues `rowsPerTx` messages in
 * one multi-row INSERT) and its own relay, woken in-process after every commit. Produced and
 * delivered rows are counted over the same window after a warm-up.
 */
export async function endToEndChild(
  c: EndToEndConfig,
  url: string,
  warmupMs: number,
  durationMs: number,
): Promise<EndToEndResult> {
  let delivered = 0;
  let produced = 0;
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: {
      schema: SCHEMA,
      destinations: { noop: noopDestination(() => delivered++) },
      relay: END_TO_END_RELAY,
    },
  });
  await flowbus.dataSource.query(`TRUNCATE ${SCHEMA}.flowbus_outbox`);
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
  const [row] = (await flowbus.dataSource.query(
    `SELECT count(*)::int AS n FROM ${SCHEMA}.flowbus_outbox WHERE delivered_at IS NULL`,
  )) as { n: number }[];
  stop = true;
  await Promise.all(producers);
  await flowbus.close();
  const seconds = (end.at - start.at) / 1000;
  return {
    producedPerSec: (end.produced - start.produced) / seconds,
    deliveredPerSec: (end.delivered - start.delivered) / seconds,
    backlog: row!.n,
  };
}

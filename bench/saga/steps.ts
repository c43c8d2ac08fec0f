import { OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { monotonicUs } from '../support/monotonic.js';
import { tell, type Message } from '../support/worker-process.js';
import { noopDestination } from '../relay/noop-destination.js';
import { ChainSaga, ChainStarted, chainMeter } from './chain.saga.js';
import { SAGA_SCHEMA } from './plan.js';

/** One measured round of the steps child. */
export interface StepsRound extends Message {
  readonly perSec: number;
  readonly seconds: number;
}

const T = (name: string) => `${SAGA_SCHEMA}.${name}`;
const POLL_FROM = 0.95;

/**
 * Child: one app with the chain saga and its relay at default settings (pool of 10; batch and
 * concurrency of the storage, FLOWBUS_BENCH_STORAGE or the library's default). `chains` publishes the start events of `n` instances durably in one
 * transaction and times the 3·n relay deliveries into the saga engine, from the first step run
 * to the moment every instance is completed in the database. `noop` drains `n` rows to a no-op
 * destination with the same relay, timed the same way.
 */
export async function stepsChild(url: string) {
  let delivered = 0;
  let firstDelivery = 0;
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: {
      schema: SAGA_SCHEMA,
      destinations: {
        noop: noopDestination(() => {
          if (delivered++ === 0) firstDelivery = monotonicUs();
        }),
      },
    },
    providers: [ChainSaga],
  });
  const ds = flowbus.dataSource;
  const outbox = flowbus.app.get(OutboxService);
  const count = async (sql: string) => ((await ds.query(sql)) as { n: number }[])[0]!.n;
  const reset = () =>
    ds.query(
      `TRUNCATE ${T('flowbus_outbox')}, ${T('flowbus_inbox')}, ${T('flowbus_saga')}, ${T('flowbus_saga_timeout')}`,
    );

  const chains = async (n: number, tag: string): Promise<StepsRound> => {
    await reset();
    chainMeter.completed = 0;
    chainMeter.firstAt = 0;
    await outbox.transaction(async (m) => {
      for (let i = 0; i < n; i++) await outbox.publish(m, new ChainStarted(`${tag}-${i}`));
    });
    while (chainMeter.completed < n * POLL_FROM) await new Promise((r) => setTimeout(r, 2));
    const done = `SELECT count(*)::int AS n FROM ${T('flowbus_saga')} WHERE status = 'completed'`;
    while ((await count(done)) < n);
    const seconds = (monotonicUs() - chainMeter.firstAt) / 1e6;
    return { type: 'round', perSec: (3 * n) / seconds, seconds };
  };

  const noop = async (n: number): Promise<StepsRound> => {
    await reset();
    delivered = 0;
    // Through the outbox, so that either storage (the log or the table) gets its rows its own way.
    const rows = Array.from({ length: n }, (_, g) => ({
      destination: 'noop',
      type: 'OrderPlaced',
      payload: { orderId: `order-${g}`, amount: g, currency: 'EUR' },
    }));
    await outbox.transaction((m) => outbox.enqueue(m, rows));
    while (delivered < n) await new Promise((r) => setTimeout(r, 1));
    const seconds = (monotonicUs() - firstDelivery) / 1e6;
    return { type: 'round', perSec: n / seconds, seconds };
  };

  tell({ type: 'ready' });
  return async (m: Message) => {
    if (m.type === 'chains') tell(await chains(m.n as number, m.tag as string));
    else if (m.type === 'noop') tell(await noop(m.n as number));
    else if (m.type === 'stop') await flowbus.close();
  };
}

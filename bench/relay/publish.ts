import { Injectable } from '@nestjs/common';
import { HandleEvent, OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { connectClient } from '../support/pg-client.js';
import { createClaimMarkTable } from './contenders/raw-pg.contender.js';
import { resetSchema } from './flowbus-schema.js';

/** Producer client counts of the publish section. */
export const PUBLISH_CLIENTS = [1, 4] as const;
/** Durable subscribers of the published event. */
export const PUBLISH_SUBSCRIBERS = 5;

const SCHEMA = 'bench_relay_publish';

/** The published event (about 60 bytes of JSON, like the drain's messages). */
export class BenchOrderPlaced {
  constructor(
    readonly orderId: string,
    readonly amount: number,
    readonly currency: string,
  ) {}
}

/** Five durable subscribers of `BenchOrderPlaced`, with stable names; the relay is off, so none runs. */
@Injectable()
export class FiveDurableSubscribers {
  @HandleEvent(BenchOrderPlaced, { durable: true, name: 'bench.subscriber-1' })
  one(): void {}
  @HandleEvent(BenchOrderPlaced, { durable: true, name: 'bench.subscriber-2' })
  two(): void {}
  @HandleEvent(BenchOrderPlaced, { durable: true, name: 'bench.subscriber-3' })
  three(): void {}
  @HandleEvent(BenchOrderPlaced, { durable: true, name: 'bench.subscriber-4' })
  four(): void {}
  @HandleEvent(BenchOrderPlaced, { durable: true, name: 'bench.subscriber-5' })
  five(): void {}
}

/** Events/s of both writers of the publish section, measured in turns in one process. */
export interface PublishRates {
  /** `OutboxService.publish` of one event with 5 durable subscribers per transaction. */
  readonly publish: number;
  /**
   * The same fan-out written by hand the 0.1 way: one transaction inserting the event's 5 rows (one
   * per subscriber) into the bench's copy of the 0.1 table with one multi-row INSERT.
   */
  readonly handFanOut: number;
}

/** Each writer runs this long at a time, in turn, until its total time is reached. */
const SLICE_MS = 250;

/**
 * Child: producer rate of `OutboxService.publish` of one event with 5 durable subscribers, one
 * event per transaction (`outbox.transaction(m => outbox.publish(m, event))`), from `clients`
 * concurrent loops, on a freshly dropped schema. The app holds the subscribers but runs no relay
 * (`relay.enabled: false`): this is the producer's cost alone, whatever the storage writes per
 * event. The hand-written 0.1 fan-out (5 rows into the copy of the 0.1 table, on the app's
 * DataSource) takes turns with it in 250 ms slices, so a busy moment of the machine hits both
 * alike and their ratio is steadier than either rate.
 */
export async function publishChild(
  clients: number,
  url: string,
  warmupMs: number,
  durationMs: number,
): Promise<PublishRates> {
  const db = await connectClient(url);
  await resetSchema(db, SCHEMA);
  const claimMarkTable = await createClaimMarkTable(db);
  await db.end();
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: { schema: SCHEMA, relay: { enabled: false }, timeouts: { enabled: false } },
    providers: [FiveDurableSubscribers],
  });
  const outbox = flowbus.app.get(OutboxService);
  const values = Array.from(
    { length: PUBLISH_SUBSCRIBERS },
    (_, i) =>
      `(gen_random_uuid(), 'local', 'bench.subscriber-${i + 1}', 'BenchOrderPlaced', $1::jsonb, '{}'::jsonb, now())`,
  ).join(', ');
  const handInsert = `INSERT INTO ${claimMarkTable}
    (id, destination, subscriber, type, payload, headers, next_attempt_at) VALUES ${values}`;
  let n = 0;
  const writers: Record<keyof PublishRates, () => Promise<unknown>> = {
    publish: () => {
      const event = new BenchOrderPlaced(`order-${++n}`, n, 'EUR');
      return outbox.transaction((m) => outbox.publish(m, event));
    },
    handFanOut: () => {
      const payload = JSON.stringify({ orderId: `order-${++n}`, amount: n, currency: 'EUR' });
      return flowbus.dataSource.transaction((m) => m.query(handInsert, [payload]));
    },
  };
  const spent = { publish: { ms: 0, done: 0 }, handFanOut: { ms: 0, done: 0 } };
  const slice = async (id: keyof PublishRates, ms: number, count: boolean) => {
    let done = 0;
    const started = performance.now();
    const until = started + ms;
    const loop = async () => {
      while (performance.now() < until) {
        await writers[id]();
        done++;
      }
    };
    await Promise.all(Array.from({ length: clients }, loop));
    if (!count) return;
    spent[id].ms += performance.now() - started;
    spent[id].done += done;
  };
  for (const id of ['publish', 'handFanOut'] as const) await slice(id, warmupMs, false);
  for (let t = 0; t < durationMs; t += SLICE_MS) {
    for (const id of ['publish', 'handFanOut'] as const) await slice(id, SLICE_MS, true);
  }
  await flowbus.close();
  return {
    publish: (spent.publish.done * 1000) / spent.publish.ms,
    handFanOut: (spent.handFanOut.done * 1000) / spent.handFanOut.ms,
  };
}

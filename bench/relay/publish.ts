import { Injectable } from '@nestjs/common';
import { HandleEvent, OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { connectClient } from '../support/pg-client.js';
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

/**
 * Child: producer rate of `OutboxService.publish` of one event with 5 durable subscribers, one
 * event per transaction (`outbox.transaction(m => outbox.publish(m, event))`), from `clients`
 * concurrent loops, on a freshly dropped schema. The app holds the subscribers but runs no relay
 * (`relay.enabled: false`): this is the producer's cost alone, whatever the storage writes per event.
 */
export async function publishChild(
  clients: number,
  url: string,
  warmupMs: number,
  durationMs: number,
): Promise<number> {
  const db = await connectClient(url);
  await resetSchema(db, SCHEMA);
  await db.end();
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: { schema: SCHEMA, relay: { enabled: false }, timeouts: { enabled: false } },
    providers: [FiveDurableSubscribers],
  });
  const outbox = flowbus.app.get(OutboxService);
  let n = 0;
  let published = 0;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const event = new BenchOrderPlaced(`order-${++n}`, n, 'EUR');
      await outbox.transaction((m) => outbox.publish(m, event));
      published++;
    }
  };
  const loops = Array.from({ length: clients }, loop);
  await new Promise((r) => setTimeout(r, warmupMs));
  const start = { at: performance.now(), published };
  await new Promise((r) => setTimeout(r, durationMs));
  const end = { at: performance.now(), published };
  stop = true;
  await Promise.all(loops);
  await flowbus.close();
  return ((end.published - start.published) * 1000) / (end.at - start.at);
}

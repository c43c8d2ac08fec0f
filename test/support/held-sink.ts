import type { DeliveryMessage, Destination } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import { gate } from './app.js';
import type { TcpProxy } from './tcp-proxy.js';

/**
 * A destination that holds every delivery until `release.open()`, then records it; a message whose
 * payload has `fail: true` fails with "503 from downstream". For outage tests: deliveries finish
 * while the database is cut.
 */
export function heldSink(overrides: Omit<Destination, 'deliver'> = {}) {
  const release = gate();
  const received: string[] = [];
  const counts = { started: 0 };
  const sink: Destination = {
    maxAttempts: 5,
    ...overrides,
    async deliver(message: DeliveryMessage) {
      counts.started++;
      await release.promise;
      received.push(message.id);
      if ((message.payload as { fail?: boolean }).fail) throw new Error('503 from downstream');
    },
  };
  return { sink, release, received, counts };
}

/** 20 messages for `sink` and a 21st that fails. */
export const OUTAGE_BATCH = [
  ...Array.from({ length: 20 }, (_, i) => ({ destination: 'sink', type: 'T', payload: { i } })),
  { destination: 'sink', type: 'T', payload: { fail: true } },
];

/**
 * With `total` deliveries held in flight: cuts every connection through `proxy` (refusing new
 * ones), lets the deliveries finish, and waits until the app has tried the database a few times.
 */
export async function cutWhileDelivering(proxy: TcpProxy, held: ReturnType<typeof heldSink>, total: number) {
  await waitFor(() => held.counts.started === total, { message: 'every delivery in flight' });
  proxy.refuse();
  proxy.cut();
  held.release.open();
  await waitFor(() => held.received.length === total, { message: 'every delivery done' });
  const refused = proxy.refused;
  await waitFor(() => proxy.refused >= refused + 5, { message: 'connections refused after the deliveries' });
}

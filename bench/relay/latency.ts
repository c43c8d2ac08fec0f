import { randomUUID } from 'node:crypto';
import { OutboxService } from 'nestjs-flowbus';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { monotonicUs, sleep } from '../support/monotonic.js';
import { tell, type Message } from '../support/worker-process.js';
import { noopDestination, orderMessage } from './noop-destination.js';

/** How a delivery is triggered. */
export interface LatencyMode {
  readonly id: 'same' | 'cross' | 'poll';
  readonly label: string;
  /** Woken paths are held to the latency target; poll-only is for reference. */
  readonly woken: boolean;
}

export const LATENCY_MODES: readonly LatencyMode[] = [
  { id: 'same', label: 'same instance (relay in the producing app, in-process wake-up)', woken: true },
  {
    id: 'cross',
    label: 'cross-instance (producer app: relay off, notify on; relay app: LISTEN)',
    woken: true,
  },
  { id: 'poll', label: 'poll only (producer: notify off; relay: listen off, pollIntervalMs 1000)', woken: false },
];

/** Roles of a latency child. */
export interface LatencyRole {
  readonly relay: boolean;
  readonly listen: boolean;
  readonly notify: boolean;
}

export const LATENCY_SCHEMA = 'bench_relay_latency';

/** Gap between two messages: random, so poll-only samples are spread over the poll period. */
export const GAP_MS = { min: 10, max: 30 } as const;

/**
 * Child: an app that produces (`produce` → stamps before and after each transaction), relays
 * (`collect` → delivery stamps), or both. Stamps are monotonic microseconds, comparable across
 * processes on one machine.
 */
export async function latencyChild(role: LatencyRole, url: string): Promise<(m: Message) => Promise<void>> {
  const deliveredAt = new Map<string, number>();
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: {
      schema: LATENCY_SCHEMA,
      destinations: { noop: noopDestination((m) => deliveredAt.set(m.id, monotonicUs())) },
      relay: { enabled: role.relay, listen: role.listen, notify: role.notify },
      timeouts: { enabled: false },
    },
  });
  const outbox = flowbus.app.get(OutboxService);
  tell({ type: 'ready' });
  return async (m) => {
    switch (m.type) {
      case 'produce': {
        const stamps: [string, number, number][] = [];
        for (let i = 0; i < (m.count as number); i++) {
          const id = randomUUID();
          const t0 = monotonicUs();
          await outbox.transaction((manager) => outbox.enqueue(manager, orderMessage(i, id)));
          stamps.push([id, t0, monotonicUs()]);
          await sleep(GAP_MS.min + Math.random() * (GAP_MS.max - GAP_MS.min));
        }
        tell({ type: 'produced', stamps });
        return;
      }
      case 'collect':
        tell({ type: 'collected', delivered: [...deliveredAt] });
        return;
      case 'stop':
        await flowbus.close();
        return;
    }
  };
}

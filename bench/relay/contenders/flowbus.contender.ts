import { startFlowbusApp } from '../../support/flowbus-app.js';
import { noopDestination } from '../noop-destination.js';
import type { DrainContender } from './contender.interface.js';
import { countUndelivered, seedOutbox } from './outbox-seed.js';

/** Relay settings of one Flowbus drain configuration. */
export interface FlowbusDrainParams {
  readonly batch: number;
  readonly concurrency: number;
  /** Keep the destination's default opossum breaker (true) or turn it off (`circuitBreaker: false`). */
  readonly breaker: boolean;
}

export const FLOWBUS_DRAIN_SCHEMA = 'bench_relay_drain';
const OUTBOX = `${FLOWBUS_DRAIN_SCHEMA}.flowbus_outbox`;

/**
 * The Flowbus relay of a Nest app (its own DataSource, pool of 10) delivering to a user
 * `Destination` whose `deliver` resolves at once. Idle relays are woken by the NOTIFY the
 * seeding transaction sends on the outbox channel, as a producer in another instance would.
 */
export function flowbusContender(p: FlowbusDrainParams): DrainContender {
  return {
    reset: async (db) => {
      await db.query(`TRUNCATE ${OUTBOX}`);
    },
    seed: (db, n) => seedOutbox(db, OUTBOX, n, `flowbus_outbox_${FLOWBUS_DRAIN_SCHEMA}`),
    remaining: (db) => countUndelivered(db, OUTBOX),
    startConsumer: async (url, handled) => {
      const noop = noopDestination(handled, p.breaker);
      const flowbus = await startFlowbusApp({
        databaseUrl: url,
        options: {
          schema: FLOWBUS_DRAIN_SCHEMA,
          destinations: { noop },
          relay: { batchSize: p.batch, concurrency: p.concurrency },
        },
      });
      return { go: async () => undefined, pause: async () => undefined, close: () => flowbus.close() };
    },
  };
}

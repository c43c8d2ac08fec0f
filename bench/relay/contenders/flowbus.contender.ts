import { drainOutbox } from 'nestjs-flowbus/testing';
import { startFlowbusApp } from '../../support/flowbus-app.js';
import { monotonicUs } from '../../support/monotonic.js';
import { OutboxSeeder, resetSchema } from '../flowbus-schema.js';
import { noopDestination } from '../noop-destination.js';
import type { DrainContender } from './contender.interface.js';

/** Relay settings of one Flowbus drain configuration; unset = the library's default. */
export interface FlowbusDrainParams {
  readonly batch?: number;
  readonly concurrency?: number;
  /** Keep the destination's default opossum breaker (true) or turn it off (`circuitBreaker: false`). */
  readonly breaker: boolean;
  /**
   * `off`: `telemetry.enabled: false`; `api`: the OpenTelemetry API with no SDK (the default
   * when `@opentelemetry/api` is installed); `sdk`: the SDK registered, exporting to memory;
   * `sdk-sampled`: the same with 10% of new traces sampled; `floor`: Flowbus's telemetry off, the
   * SDK registered, and the destination itself making the least a span per delivery attempt can
   * be (see bareSpanDestination): what any design with a span per attempt costs at the least.
   * @default 'api'
   */
  readonly telemetry?: TelemetryMode;
}

export type TelemetryMode = 'off' | 'api' | 'sdk' | 'sdk-sampled' | 'floor';

export const FLOWBUS_DRAIN_SCHEMA = 'bench_relay_drain';

/**
 * The Flowbus relay of a Nest app (its own DataSource, pool of 10) delivering to a user
 * `Destination` whose `deliver` resolves at once. The backlog is written by a producer app in the
 * parent with `OutboxService.enqueue` (one transaction, `relay.notify` on), so idle relays are
 * woken by its NOTIFY as by a producer in another instance. A round ends when `drainOutbox`
 * returns in every relay process. Every pass starts on a freshly dropped schema; within a pass,
 * delivered rows stay where the library keeps them (the warm-up's before the measured round).
 */
export function flowbusContender(p: FlowbusDrainParams, url: string): DrainContender {
  const seeder = new OutboxSeeder(url, FLOWBUS_DRAIN_SCHEMA);
  return {
    prepare: (db) => resetSchema(db, FLOWBUS_DRAIN_SCHEMA),
    reset: async () => undefined,
    seed: (_db, n) => seeder.seed(n),
    dispose: () => seeder.close(),
    startConsumer: async (url, handled) => {
      let noop = noopDestination(handled, p.breaker);
      const relay = {
        ...(p.batch === undefined ? {} : { batchSize: p.batch }),
        ...(p.concurrency === undefined ? {} : { concurrency: p.concurrency }),
      };
      // Loaded only here, so the other modes never load @opentelemetry/api.
      const withSdk = p.telemetry?.startsWith('sdk') || p.telemetry === 'floor';
      const otel = withSdk ? await import('./telemetry-sdk.js') : undefined;
      const sdk = otel?.registerInMemorySdk(p.telemetry === 'sdk-sampled' ? 0.1 : undefined);
      if (otel && p.telemetry === 'floor') noop = await otel.bareSpanDestination(noop);
      const flowbus = await startFlowbusApp({
        databaseUrl: url,
        options: {
          schema: FLOWBUS_DRAIN_SCHEMA,
          destinations: { noop },
          relay,
          timeouts: { enabled: false },
          ...(p.telemetry === 'off' || p.telemetry === 'floor' ? { telemetry: { enabled: false } } : {}),
        },
      });
      return {
        go: async () => sdk?.reset(),
        pause: async () => undefined,
        settle: async () => {
          await drainOutbox(flowbus.app, { timeoutMs: 180_000 });
          return monotonicUs();
        },
        close: async () => {
          await flowbus.close();
          await sdk?.shutdown();
        },
      };
    },
  };
}

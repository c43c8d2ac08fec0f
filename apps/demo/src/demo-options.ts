import { httpDestination, type FlowbusOptions, type HttpDestinationOptions, type Source } from 'nestjs-flowbus';
import { randomBytes } from 'node:crypto';
import type { DemoBroker } from './broker/demo-broker.js';

/** Injection token of the resolved demo options. */
export const DEMO_OPTIONS = Symbol('DEMO_OPTIONS');

/** Options of `AppModule.forRoot`: `main.ts` builds them from the environment, tests pass their own. */
export interface DemoOptions {
  /** PostgreSQL URL of the demo's database: its own tables and Flowbus's. */
  databaseUrl: string;
  /** Base URL at which the relay reaches this app; the shipping webhook is `<selfUrl>/simulated/shipping`. */
  selfUrl: string;
  /** Bearer token of the Flowbus admin API and dashboard (at least 16 characters). */
  adminToken: string;
  /** How long the saga waits for an answer of the payment service. @default 8000 */
  paymentTimeoutMs?: number;
  /** Delay of a `slow` switch set without `delayMs`. @default 2000 */
  slowDelayMs?: number;
  /** Flowbus options merged over the demo's (tests poll faster and back off less). */
  flowbus?: Omit<FlowbusOptions, 'dataSource'>;
  /** Options of the shipping webhook destination merged over the demo's: backoff, breaker, timeout. */
  shipping?: Omit<HttpDestinationOptions, 'url'>;
  /** Bearer token the relay sends to the shipping webhook, which refuses requests without it. @default random */
  webhookSecret?: string;
  /**
   * Reach the shipping service through a broker (it runs as a second process, `shipping-main.ts`)
   * instead of the webhook of this app. @default undefined (the webhook)
   */
  broker?: DemoBroker;
}

export interface ResolvedDemoOptions {
  readonly paymentTimeoutMs: number;
  readonly slowDelayMs: number;
  readonly webhookSecret: string;
}

export function resolveDemoOptions(o: DemoOptions): ResolvedDemoOptions {
  return {
    paymentTimeoutMs: o.paymentTimeoutMs ?? 8000,
    slowDelayMs: o.slowDelayMs ?? 2000,
    webhookSecret: o.webhookSecret ?? randomBytes(16).toString('hex'),
  };
}

/**
 * Flowbus as the demo runs it: the payment and inventory services are durable `@HandleEvent`
 * handlers behind the built-in `local` destination; the shipping service is a webhook of this
 * very app behind `httpDestination`, with its own retry policy and circuit breaker.
 */
export function flowbusOptions(o: DemoOptions, resolved: ResolvedDemoOptions): FlowbusOptions {
  const s = o.shipping ?? {};
  const shipping = httpDestination({
    timeoutMs: 5000,
    // A carrier outage should not dead-letter parcels quickly: retry for several minutes.
    maxAttempts: 30,
    ...s,
    url: new URL('/simulated/shipping', o.selfUrl).href,
    // Webhooks are public URLs: the receiver checks this header (shipping/webhook-auth.guard.ts).
    headers: { Authorization: `Bearer ${resolved.webhookSecret}`, ...s.headers },
    backoff: { initialMs: 1000, maxMs: 15_000, ...s.backoff },
    circuitBreaker:
      s.circuitBreaker === false
        ? false
        : {
            volumeThreshold: 3,
            errorThresholdPercentage: 50,
            resetTimeoutMs: 10_000,
            timeoutMs: 6000,
            ...s.circuitBreaker,
          },
  });
  const f = o.flowbus ?? {};
  // Two processes: ShipOrder goes out to the broker, the carrier's answers come back from it.
  const broker = o.broker;
  const sources: Record<string, Source> = broker
    ? { shipping: broker.source('shop', ['OrderShipped', 'ShipmentFailed']) }
    : {};
  return {
    ...f,
    relay: {
      pollIntervalMs: 500,
      maxAttempts: 12,
      ...f.relay,
      backoff: { initialMs: 500, maxMs: 10_000, ...f.relay?.backoff },
    },
    timeouts: { pollIntervalMs: 500, ...f.timeouts },
    destinations: { shipping: broker ? broker.destination('shipping') : shipping, ...f.destinations },
    sources: { ...sources, ...f.sources },
  };
}

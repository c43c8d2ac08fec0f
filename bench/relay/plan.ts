/** What one drain configuration runs. */
export type DrainSpec =
  | {
      readonly kind: 'flowbus';
      readonly batch: number;
      readonly concurrency: number;
      readonly breaker: boolean;
    }
  | {
      readonly kind: 'raw-pg';
      readonly batch: number;
      readonly ack: 'mark' | 'delete';
      readonly pipelined: boolean;
      readonly prepared: boolean;
    }
  | { readonly kind: 'graphile-worker'; readonly concurrency: number; readonly localQueue: number }
  | { readonly kind: 'pg-boss'; readonly batchSize: number; readonly workers: number };

export interface DrainConfig {
  readonly id: string;
  readonly label: string;
  /** Consumer processes draining the same backlog together. */
  readonly processes: number;
  readonly spec: DrainSpec;
}

const flowbus = (batch: number, relays: number, concurrency = 2 * batch, breaker = true): DrainConfig => ({
  id: `flowbus-b${batch}-c${concurrency}-r${relays}${breaker ? '' : '-nobreaker'}`,
  label: `Flowbus relay, batch ${batch}, concurrency ${concurrency}, ${relays} relay${relays > 1 ? 's' : ''}${breaker ? '' : ', breaker off'}`,
  processes: relays,
  spec: { kind: 'flowbus', batch, concurrency, breaker },
});

const raw = (batch: number, ack: 'mark' | 'delete', pipelined = true, prepared = false): DrainConfig => ({
  id: `raw-b${batch}-${ack}${pipelined ? '-pipe' : ''}${prepared ? '-prep' : ''}`,
  label:
    `raw pg claim + ${ack === 'mark' ? 'mark delivered' : 'delete'}, batch ${batch}, ` +
    `${pipelined ? 'acks overlapped on a 2nd connection' : 'one connection, sequential'}` +
    `${prepared ? ', prepared statements' : ''}`,
  processes: 1,
  spec: { kind: 'raw-pg', batch, ack, pipelined, prepared },
});

/** The headline configurations the targets are checked on. */
export const HEADLINE = {
  flowbus: 'flowbus-b100-c200-r1',
  graphile: 'graphile-c10-lq100',
  pgBoss: 'pgboss-b100-w50',
} as const;

export const DRAIN_CONFIGS: readonly DrainConfig[] = [
  raw(100, 'mark'),
  raw(100, 'mark', false),
  raw(100, 'mark', true, true),
  flowbus(100, 1),
  flowbus(100, 2),
  flowbus(100, 1, 100),
  flowbus(100, 1, 200, false),
  raw(100, 'delete'),
  raw(10, 'mark'),
  flowbus(10, 1),
  flowbus(10, 2),
  raw(500, 'mark'),
  flowbus(500, 1),
  flowbus(500, 2),
  {
    id: HEADLINE.graphile,
    label: 'graphile-worker 0.17, concurrency 10, localQueue 100, completeJobBatchDelay 0',
    processes: 1,
    spec: { kind: 'graphile-worker', concurrency: 10, localQueue: 100 },
  },
  {
    id: HEADLINE.pgBoss,
    label: 'pg-boss 10, work({ batchSize: 100 }) × 50 workers, polling 0.5 s',
    processes: 1,
    spec: { kind: 'pg-boss', batchSize: 100, workers: 50 },
  },
  {
    id: 'pgboss-b2500-w10',
    label: 'pg-boss 10, work({ batchSize: 2500 }) × 10 workers, polling 0.5 s',
    processes: 1,
    spec: { kind: 'pg-boss', batchSize: 2500, workers: 10 },
  },
];

/** Sizes and durations of one run. */
export interface RelayBudget {
  /** Passes over the whole plan; each configuration gets one fresh set of processes per pass. */
  readonly passes: number;
  /** Rows in the measured backlog of each drain. */
  readonly backlog: number;
  /** Rows drained first in every fresh process (JIT, pools, plans), not measured. */
  readonly warmupRows: number;
  readonly enqueueWarmupMs: number;
  readonly enqueueMs: number;
  readonly endToEndWarmupMs: number;
  readonly endToEndMs: number;
  readonly latencySamples: number;
  readonly rssRows: number;
}

export const FULL_BUDGET: RelayBudget = {
  passes: 3,
  backlog: 20_000,
  warmupRows: 5_000,
  enqueueWarmupMs: 500,
  enqueueMs: 2_000,
  endToEndWarmupMs: 1_000,
  endToEndMs: 3_000,
  latencySamples: 200,
  rssRows: 200_000,
};

export const QUICK_BUDGET: RelayBudget = {
  passes: 1,
  backlog: 5_000,
  warmupRows: 1_000,
  enqueueWarmupMs: 200,
  enqueueMs: 500,
  endToEndWarmupMs: 300,
  endToEndMs: 1_000,
  latencySamples: 50,
  rssRows: 40_000,
};

export const SECTIONS = ['drain', 'enqueue', 'e2e', 'latency', 'rss'] as const;
export type Section = (typeof SECTIONS)[number];

export function drainConfigById(id: string): DrainConfig {
  const config = DRAIN_CONFIGS.find((c) => c.id === id);
  if (!config)
    throw new Error(`Unknown drain configuration ${id}; known: ${DRAIN_CONFIGS.map((c) => c.id).join(', ')}`);
  return config;
}

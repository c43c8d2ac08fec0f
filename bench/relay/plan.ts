/** What one drain configuration runs. */
export type DrainSpec =
  | {
      readonly kind: 'flowbus';
      /** Unset: the library's default `relay.batchSize` (and `concurrency`). */
      readonly batch?: number;
      readonly concurrency?: number;
      readonly breaker: boolean;
      /** Flowbus telemetry: off, the API without SDK (default), the SDK exporting to memory. */
      readonly telemetry?: 'off' | 'api' | 'sdk' | 'sdk-sampled' | 'floor';
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

/** The relay with every relay option at the library's default: the headline of issue 12. */
const flowbusDefaults: DrainConfig = {
  id: 'flowbus-defaults-r1',
  label: "Flowbus relay, library's default batch and concurrency, 1 relay",
  processes: 1,
  spec: { kind: 'flowbus', breaker: true },
};

/** The default relay with Flowbus telemetry off, or with the OpenTelemetry SDK registered. */
const telemetry = (mode: 'off' | 'sdk' | 'sdk-sampled' | 'floor'): DrainConfig => ({
  id: `flowbus-defaults-r1-otel-${mode}`,
  label:
    mode === 'off'
      ? `${flowbusDefaults.label}, telemetry.enabled: false`
      : mode === 'floor'
        ? `${flowbusDefaults.label}, telemetry.enabled: false, the SDK registered as below and the destination making a bare span (3 attributes, outcome) and a histogram record per delivery: the floor of a span per attempt`
        : `${flowbusDefaults.label}, OpenTelemetry SDK registered (batch span processor, metric reader, in-memory exporters${mode === 'sdk' ? '' : ', 10% of new traces sampled'})`,
  processes: 1,
  spec: { kind: 'flowbus', breaker: true, telemetry: mode },
});

/** The headline configurations the targets are checked on. */
export const HEADLINE = {
  flowbus: flowbusDefaults.id,
  telemetryOff: 'flowbus-defaults-r1-otel-off',
  telemetrySdk: 'flowbus-defaults-r1-otel-sdk',
  telemetryFloor: 'flowbus-defaults-r1-otel-floor',
  graphile: 'graphile-c10-lq100',
  pgBoss: 'pgboss-b2500-w10',
} as const;

export const DRAIN_CONFIGS: readonly DrainConfig[] = [
  flowbusDefaults,
  telemetry('off'),
  telemetry('sdk'),
  telemetry('sdk-sampled'),
  telemetry('floor'),
  raw(100, 'mark'),
  raw(100, 'mark', false),
  raw(100, 'mark', true, true),
  flowbus(100, 1),
  flowbus(1000, 1),
  flowbus(2000, 1),
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
    id: 'pgboss-b100-w50',
    label: 'pg-boss 10, work({ batchSize: 100 }) × 50 workers, polling 0.5 s',
    processes: 1,
    spec: { kind: 'pg-boss', batchSize: 100, workers: 50 },
  },
  {
    id: HEADLINE.pgBoss,
    label: 'pg-boss 10, work({ batchSize: 2500 }) × 10 workers, polling 0.5 s',
    processes: 1,
    spec: { kind: 'pg-boss', batchSize: 2500, workers: 10 },
  },
];

/**
 * Drain configurations of a run without --configs: what issue 12 names (the relay at its default
 * batch, the claim + mark ceiling on the 0.1 table at batches 100 and 500, graphile-worker tuned,
 * pg-boss with 2,500-job batches) and the relay at batches 100 and 500. `--configs all` runs every one.
 */
export const DEFAULT_DRAIN_IDS: readonly string[] = [
  HEADLINE.flowbus,
  HEADLINE.telemetryOff,
  HEADLINE.telemetrySdk,
  HEADLINE.telemetryFloor,
  'raw-b100-mark-pipe',
  'raw-b100-mark-pipe-prep',
  'raw-b500-mark-pipe',
  'flowbus-b100-c200-r1',
  'flowbus-b500-c1000-r1',
  HEADLINE.graphile,
  HEADLINE.pgBoss,
];

/** Drain configurations of --quick: the ones the targets are checked on. */
export const QUICK_DRAIN_IDS: readonly string[] = [
  HEADLINE.flowbus,
  'raw-b100-mark-pipe',
  HEADLINE.graphile,
  HEADLINE.pgBoss,
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
  readonly publishWarmupMs: number;
  readonly publishMs: number;
  /** Rows written, delivered and retained per cycle of the size section, and the cycles. */
  readonly sizeRows: number;
  readonly sizeCycles: number;
  /** Longest wait for the quiet machine, over the whole run (see `measureQuietly`). */
  readonly patienceMs: number;
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
  publishWarmupMs: 500,
  publishMs: 3_000,
  sizeRows: 200_000,
  sizeCycles: 5,
  patienceMs: 180_000,
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
  publishWarmupMs: 200,
  publishMs: 1_000,
  sizeRows: 20_000,
  sizeCycles: 5,
  patienceMs: 10_000,
};

export const SECTIONS = ['drain', 'enqueue', 'e2e', 'publish', 'latency', 'size', 'rss'] as const;
export type Section = (typeof SECTIONS)[number];
/** Sections of a run without --only: every figure issue 12 names (the WAL figures come with the drains). */
export const DEFAULT_SECTIONS: readonly Section[] = ['drain', 'e2e', 'publish', 'latency', 'size'];

export function drainConfigById(id: string): DrainConfig {
  const config = DRAIN_CONFIGS.find((c) => c.id === id);
  if (!config)
    throw new Error(`Unknown drain configuration ${id}; known: ${DRAIN_CONFIGS.map((c) => c.id).join(', ')}`);
  return config;
}

import type pg from 'pg';
import { rate } from '../support/format.js';
import { sleep } from '../support/monotonic.js';
import { percentile } from '../support/percentiles.js';
import { DEFAULT_QUIET, measureQuietly, type Measured } from '../support/machine-load.js';
import { runOnce, WorkerProcess } from '../support/worker-process.js';
import { OutboxSeeder, resetSchema } from './flowbus-schema.js';
import { drainPass, type DrainRound } from './drain.js';
import { END_TO_END_CONFIGS, type EndToEndResult } from './end-to-end.js';
import { ENQUEUE_CLIENTS, ENQUEUE_WRITERS, enqueueKey } from './enqueue.js';
import { LATENCY_MODES, LATENCY_SCHEMA, type LatencyRole } from './latency.js';
import { RSS_SCHEMA, type MemorySamples } from './memory.js';
import type { DrainConfig, RelayBudget } from './plan.js';
import { PUBLISH_CLIENTS, type PublishRates } from './publish.js';
import { afterRetention, SIZE_SCHEMA, type SizeCycle } from './size.js';

/** Latency of one pass of one mode, in milliseconds. */
export interface LatencyRound {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** From the commit having returned to the producer, rather than from the enqueue call. */
  readonly commitP50: number;
  readonly commitP99: number;
}

export interface RelayResults {
  readonly drains: Map<string, DrainRound[]>;
  readonly enqueue: Map<string, Measured<number>[]>;
  readonly endToEnd: Map<string, Measured<EndToEndResult>[]>;
  readonly latency: Map<string, Measured<LatencyRound>[]>;
  /** A drain from a cold start of the relay process. */
  rss?: Measured<MemorySamples>;
  /** The next drain in the same process, after V8 sized its heap on the first one. */
  rssWarm?: Measured<MemorySamples>;
  /** The same drain with a full GC before each sample: live memory. */
  rssCollected?: Measured<MemorySamples>;
  /** Events/s of `OutboxService.publish` with 5 durable subscribers and of the hand-written 0.1 fan-out, by client count. */
  readonly publish: Map<string, Measured<PublishRates>[]>;
  /** Cycles of writing, delivering and retaining (one pass). */
  size?: SizeCycle[];
}

/** What every section needs from the parent. */
export interface RunContext {
  readonly url: string;
  readonly db: pg.Client;
  readonly self: string;
  readonly execArgv: readonly string[];
  readonly budget: RelayBudget;
  /** Process trees whose CPU belongs to the measurement: this process, the PostgreSQL server. */
  readonly roots: () => number[];
}

const others = (m: { othersCores?: number; attempts: number }) =>
  m.othersCores === undefined
    ? 'n/a'
    : `${m.othersCores.toFixed(2)} cores${m.attempts > 1 ? ` after ${m.attempts} tries` : ''}`;
const push = <T>(map: Map<string, T[]>, id: string, value: T) => map.set(id, [...(map.get(id) ?? []), value]);
const order = <T>(list: readonly T[], pass: number) => (pass % 2 ? [...list].reverse() : list);

export async function runDrains(ctx: RunContext, configs: readonly DrainConfig[], results: RelayResults) {
  for (let pass = 0; pass < ctx.budget.passes; pass++) {
    for (const config of order(configs, pass)) {
      const r = await drainPass({
        config,
        url: ctx.url,
        db: ctx.db,
        self: ctx.self,
        execArgv: ctx.execArgv,
        warmupRows: ctx.budget.warmupRows,
        backlog: ctx.budget.backlog,
        roots: ctx.roots,
      });
      push(results.drains, config.id, r);
      console.log(
        `[drain ${pass + 1}/${ctx.budget.passes}] ${config.id.padEnd(30)} ${rate(r.rowsPerSec)} rows/s ` +
          `(${r.seconds.toFixed(2)} s, ${r.cpuUsPerJob.toFixed(1)} µs CPU/job, others ${others(r)})${r.duplicates ? `, ${r.duplicates} duplicate(s)` : ''}`,
      );
    }
  }
}

export async function runEnqueue(ctx: RunContext, results: RelayResults) {
  for (let pass = 0; pass < ctx.budget.passes; pass++) {
    for (const clients of order(ENQUEUE_CLIENTS, pass)) {
      const m = await measureQuietly(ctx.roots, () =>
        runOnce<Record<string, number>>(ctx.self, {
          args: ['--child', JSON.stringify({ kind: 'enqueue', clients, budget: ctx.budget })],
          execArgv: ctx.execArgv,
          name: `enqueue, ${clients} client(s)`,
        }),
      );
      for (const w of ENQUEUE_WRITERS)
        push(results.enqueue, enqueueKey(w.id, clients), { ...m, value: m.value[w.id]! });
      console.log(
        `[enqueue ${pass + 1}/${ctx.budget.passes}] ${clients} client(s): ` +
          ENQUEUE_WRITERS.map((w) => `${w.id} ${rate(m.value[w.id]!)} tx/s`).join(', ') +
          ` (others ${others(m)})`,
      );
    }
  }
}

export async function runEndToEnd(ctx: RunContext, results: RelayResults) {
  for (let pass = 0; pass < ctx.budget.passes; pass++) {
    for (const config of order(END_TO_END_CONFIGS, pass)) {
      const m = await measureQuietly(ctx.roots, () =>
        runOnce<EndToEndResult>(ctx.self, {
          args: ['--child', JSON.stringify({ kind: 'e2e', config, budget: ctx.budget })],
          execArgv: ctx.execArgv,
          name: `end to end ${config.id}`,
        }),
      );
      push(results.endToEnd, config.id, m);
      const r = m.value;
      console.log(
        `[e2e ${pass + 1}/${ctx.budget.passes}] ${config.id.padEnd(14)} produced ${rate(r.producedPerSec)}/s, ` +
          `delivered ${rate(r.deliveredPerSec)}/s, backlog at end ${r.backlog} (others ${others(m)})`,
      );
    }
  }
}

const WARMUP_MESSAGES = 20;

export async function runLatency(ctx: RunContext, results: RelayResults) {
  const start = (role: LatencyRole, name: string) =>
    WorkerProcess.start(ctx.self, {
      args: ['--child', JSON.stringify({ kind: 'latency', role })],
      execArgv: ctx.execArgv,
      name,
    });
  for (let pass = 0; pass < ctx.budget.passes; pass++) {
    for (const mode of order(LATENCY_MODES, pass)) {
      await resetSchema(ctx.db, LATENCY_SCHEMA);
      const relay = start(
        { relay: true, listen: mode.id !== 'poll', notify: false },
        `latency ${mode.id} relay${mode.id === 'same' ? ' + producer' : ''}`,
      );
      const producer =
        mode.id === 'same' ? relay : start({ relay: false, listen: false, notify: mode.id === 'cross' }, 'producer');
      try {
        await relay.next('ready');
        if (producer !== relay) await producer.next('ready');
        const m = await measureQuietly(ctx.roots, async () => {
          const total = WARMUP_MESSAGES + ctx.budget.latencySamples;
          const { stamps } = await producer.ask<{ type: string; stamps: [string, number, number][] }>(
            { type: 'produce', count: total },
            'produced',
          );
          let delivered = new Map<string, number>();
          const deadline = Date.now() + 30_000;
          while (!stamps.every(([id]) => delivered.has(id))) {
            if (Date.now() > deadline) throw new Error(`latency ${mode.id}: not all of ${total} delivered`);
            await sleep(100);
            const c = await relay.ask<{ type: string; delivered: [string, number][] }>(
              { type: 'collect' },
              'collected',
            );
            delivered = new Map(c.delivered);
          }
          const measured = stamps.slice(WARMUP_MESSAGES);
          const fromCall = measured.map(([id, t0]) => (delivered.get(id)! - t0) / 1000);
          const fromCommit = measured.map(([id, , tc]) => (delivered.get(id)! - tc) / 1000);
          return {
            p50: percentile(fromCall, 0.5),
            p99: percentile(fromCall, 0.99),
            max: percentile(fromCall, 1),
            commitP50: percentile(fromCommit, 0.5),
            commitP99: percentile(fromCommit, 0.99),
          } satisfies LatencyRound;
        });
        push(results.latency, mode.id, m);
        const r = m.value;
        console.log(
          `[latency ${pass + 1}/${ctx.budget.passes}] ${mode.id.padEnd(6)} p50 ${r.p50.toFixed(2)} ms, ` +
            `p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms; from commit p50 ${r.commitP50.toFixed(2)} ms, ` +
            `p99 ${r.commitP99.toFixed(2)} ms (others ${others(m)})`,
        );
      } finally {
        await relay.stop();
        if (producer !== relay) await producer.stop();
      }
    }
  }
}

export async function runMemory(ctx: RunContext, results: RelayResults) {
  // The plain process drains twice: from a cold start, then again after that warm-up drain. The
  // --expose-gc process drains once: live memory.
  const runs = [
    { collect: false, drain: 'cold' },
    { collect: false, drain: 'warm' },
    { collect: true, drain: 'collected' },
  ] as const;
  let child: WorkerProcess | undefined;
  const seeder = new OutboxSeeder(ctx.url, RSS_SCHEMA);
  try {
    for (const run of runs) {
      if (run.drain !== 'warm') {
        await child?.stop();
        await seeder.close();
        await resetSchema(ctx.db, RSS_SCHEMA);
        child = WorkerProcess.start(ctx.self, {
          args: ['--child', JSON.stringify({ kind: 'rss', budget: ctx.budget, collect: run.collect })],
          execArgv: run.collect ? [...ctx.execArgv, '--expose-gc'] : ctx.execArgv,
          name: `rss relay${run.collect ? ' (gc before each sample)' : ''}`,
        });
        await child.next('ready');
      }
      const relay = child!;
      // One attempt: the figure is the memory range, which others' load does not change much.
      const m = await measureQuietly(
        ctx.roots,
        async () => {
          await seeder.seed(ctx.budget.rssRows);
          return relay.ask<MemorySamples>({ type: 'wait' }, 'samples', 300_000);
        },
        { ...DEFAULT_QUIET, maxAttempts: 1 },
      );
      if (run.drain === 'cold') results.rss = m;
      else if (run.drain === 'warm') results.rssWarm = m;
      else results.rssCollected = m;
      const v = m.value;
      console.log(
        `[rss, ${run.drain === 'collected' ? 'gc before each sample' : `${run.drain} drain`}] ${ctx.budget.rssRows} rows at ` +
          `${rate(v.rowsPerSec)} rows/s; RSS ${Math.min(...v.rssMiB).toFixed(0)}–${Math.max(...v.rssMiB).toFixed(0)} MiB, ` +
          `heap used ${Math.min(...v.heapMiB).toFixed(0)}–${Math.max(...v.heapMiB).toFixed(0)} MiB over ` +
          `${v.rssMiB.length} samples (others ${others(m)})`,
      );
    }
  } finally {
    await child?.stop();
    await seeder.close();
  }
}

export async function runPublish(ctx: RunContext, results: RelayResults) {
  for (let pass = 0; pass < ctx.budget.passes; pass++) {
    for (const clients of order(PUBLISH_CLIENTS, pass)) {
      const m = await measureQuietly(ctx.roots, () =>
        runOnce<PublishRates>(ctx.self, {
          args: ['--child', JSON.stringify({ kind: 'publish', clients, budget: ctx.budget })],
          execArgv: ctx.execArgv,
          name: `publish, ${clients} client(s)`,
        }),
      );
      push(results.publish, `c${clients}`, m);
      console.log(
        `[publish ${pass + 1}/${ctx.budget.passes}] ${clients} client(s): publish ${rate(m.value.publish)} events/s, ` +
          `hand-written 0.1 fan-out ${rate(m.value.handFanOut)} events/s (others ${others(m)})`,
      );
    }
  }
}

export async function runSize(ctx: RunContext, results: RelayResults) {
  await resetSchema(ctx.db, SIZE_SCHEMA);
  const child = WorkerProcess.start(ctx.self, {
    args: ['--child', JSON.stringify({ kind: 'size', budget: ctx.budget })],
    execArgv: ctx.execArgv,
    name: 'size relay',
  });
  const cycles: SizeCycle[] = [];
  try {
    await child.next('ready');
    for (let cycle = 1; cycle <= ctx.budget.sizeCycles; cycle++) {
      const { seconds } = await child.ask<{ type: string; seconds: number }>(
        { type: 'cycle', rows: ctx.budget.sizeRows },
        'delivered',
        600_000,
      );
      const c = await afterRetention(ctx.db, ctx.budget.sizeRows, seconds);
      cycles.push(c);
      console.log(
        `[size ${cycle}/${ctx.budget.sizeCycles}] ${ctx.budget.sizeRows} rows delivered in ${seconds.toFixed(1)} s; ` +
          `after ${c.retainSeconds.toFixed(1)} s of retention ${c.rowsLeft} rows left, ` +
          `flowbus_ tables ${(c.bytes / 2 ** 20).toFixed(1)} MiB${c.retained ? '' : ' (retention did not finish)'}`,
      );
    }
  } finally {
    await child.stop();
  }
  results.size = cycles;
}

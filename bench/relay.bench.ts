import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { drainChild } from './relay/drain.js';
import { endToEndChild, type EndToEndConfig } from './relay/end-to-end.js';
import { enqueueChild } from './relay/enqueue.js';
import { latencyChild, type LatencyRole } from './relay/latency.js';
import { memoryChild } from './relay/memory.js';
import {
  DRAIN_CONFIGS,
  drainConfigById,
  FULL_BUDGET,
  QUICK_BUDGET,
  SECTIONS,
  type RelayBudget,
  type Section,
} from './relay/plan.js';
import { relayReport } from './relay/report.js';
import {
  runDrains,
  runEndToEnd,
  runEnqueue,
  runLatency,
  runMemory,
  type RelayResults,
  type RunContext,
} from './relay/sections.js';
import { RELAY_NOTES } from './relay/notes.js';
import { benchDatabaseUrl } from './support/flowbus-app.js';
import { postmasterPid } from './support/machine-load.js';
import { describeLoad, describeMachine } from './support/machine.js';
import { connectClient } from './support/pg-client.js';
import { reportResult, serveParent, type Message } from './support/worker-process.js';

/*
 * Outbox relay benchmark (issue 3, "Speed"): backlog drain against a hand-written raw-pg ceiling,
 * graphile-worker and pg-boss; enqueue cost; end-to-end throughput; enqueue→delivery latency;
 * memory while draining. Run through `npm run bench -- relay` (bench/run.mjs builds, provides
 * PostgreSQL in BENCH_DATABASE_URL and writes the printed section into bench/RESULTS.md).
 *
 * Options: --quick, --only <section,...> (drain, enqueue, e2e, latency, rss), --configs <drain id,...>,
 * --passes <n>, --backlog <rows>, --cpu-prof (profiles of the children in bench/out/profiles).
 */

const self = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    configs: { type: 'string' },
    passes: { type: 'string' },
    backlog: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

if (values.child) await child(JSON.parse(values.child) as Message);
else await parent();

async function child(task: Message): Promise<void> {
  const url = benchDatabaseUrl();
  const budget = task.budget as RelayBudget;
  let handler: Promise<(m: Message) => Promise<void>>;
  serveParent(async (m) => (await handler)(m));
  const once = async (result: Promise<unknown>) => {
    reportResult(await result);
    return async () => undefined;
  };
  if (task.kind === 'enqueue') {
    handler = once(enqueueChild(task.clients as number, url, budget.enqueueWarmupMs, budget.enqueueMs));
  } else if (task.kind === 'e2e') {
    handler = once(endToEndChild(task.config as EndToEndConfig, url, budget.endToEndWarmupMs, budget.endToEndMs));
  } else if (task.kind === 'drain') handler = drainChild(drainConfigById((task.config as { id: string }).id), url);
  else if (task.kind === 'latency') handler = latencyChild(task.role as LatencyRole, url);
  else if (task.kind === 'rss') handler = memoryChild(url, budget.rssRows, budget.rssRows / 10, task.collect === true);
  else throw new Error(`unknown child task ${String(task.kind)}`);
}

async function parent(): Promise<void> {
  const started = Date.now();
  const machine = describeMachine();
  const base = values.quick ? QUICK_BUDGET : FULL_BUDGET;
  const budget: RelayBudget = {
    ...base,
    passes: values.passes ? Math.max(1, Number(values.passes)) : base.passes,
    backlog: values.backlog ? Math.max(1000, Number(values.backlog)) : base.backlog,
  };
  const sections = (values.only ? values.only.split(',') : [...SECTIONS]) as Section[];
  for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; known: ${SECTIONS}`);
  console.log(`relay bench: ${sections.join(', ')}; ${budget.passes} pass(es) (${machine})`);

  const db = await connectClient(benchDatabaseUrl());
  const postgres = await postmasterPid(db);
  const ctx: RunContext = {
    roots: () => (postgres ? [process.pid, postgres] : [process.pid]),
    url: benchDatabaseUrl(),
    db,
    self,
    execArgv: values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir=bench/out/profiles'] : [],
    budget,
  };
  const results: RelayResults = { drains: new Map(), enqueue: new Map(), endToEnd: new Map(), latency: new Map() };
  try {
    if (sections.includes('drain')) {
      await runDrains(ctx, values.configs ? values.configs.split(',').map(drainConfigById) : DRAIN_CONFIGS, results);
    }
    if (sections.includes('enqueue')) await runEnqueue(ctx, results);
    if (sections.includes('e2e')) await runEndToEnd(ctx, results);
    if (sections.includes('latency')) await runLatency(ctx, results);
    if (sections.includes('rss')) await runMemory(ctx, results);
  } finally {
    await db.end();
  }

  const report = relayReport(results, {
    machine: `${machine}; at the end ${describeLoad()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: process.env.BENCH_COMMAND ?? 'npm run bench -- relay',
    budget,
    durationMs: Date.now() - started,
    notes: RELAY_NOTES,
  });
  console.log(`\n${report}\n`);
  if (process.env.BENCH_REPORT) await writeFile(process.env.BENCH_REPORT, `${report}\n`);
}

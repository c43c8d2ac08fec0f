import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { drainChild } from './relay/drain.js';
import { endToEndChild, type EndToEndConfig } from './relay/end-to-end.js';
import { enqueueChild } from './relay/enqueue.js';
import { latencyChild, type LatencyRole } from './relay/latency.js';
import { memoryChild } from './relay/memory.js';
import {
  DEFAULT_DRAIN_IDS,
  DEFAULT_SECTIONS,
  DRAIN_CONFIGS,
  drainConfigById,
  FULL_BUDGET,
  QUICK_BUDGET,
  QUICK_DRAIN_IDS,
  SECTIONS,
  type RelayBudget,
  type Section,
} from './relay/plan.js';
import { publishChild } from './relay/publish.js';
import { sizeChild } from './relay/size.js';
import { BASELINE_FILE, readBaseline, writeBaseline } from './relay/baseline.js';
import { relayReport } from './relay/report.js';
import {
  runDrains,
  runEndToEnd,
  runEnqueue,
  runLatency,
  runMemory,
  runPublish,
  runSize,
  type RelayResults,
  type RunContext,
} from './relay/sections.js';
import { RELAY_NOTES, STORAGE_NOTES } from './relay/notes.js';
import { benchDatabaseUrl } from './support/flowbus-app.js';
import { postmasterPid, setPatience } from './support/machine-load.js';
import { describeLoad, describeMachine } from './support/machine.js';
import { connectClient } from './support/pg-client.js';
import { reportResult, serveParent, type Message } from './support/worker-process.js';

/*
 * Outbox relay benchmark (issue 12, "Speed"; first written for issue 3): backlog drain against the
 * hand-written claim + mark ceiling on a copy of the 0.1 table, graphile-worker and pg-boss, with
 * WAL bytes per delivered row; end-to-end delivered/written; publish with 5 durable subscribers;
 * commit→delivery latency; table size over write/deliver/retain cycles; optionally enqueue cost and
 * memory. Run through `npm run bench -- relay` (bench/run.mjs builds, provides PostgreSQL in
 * BENCH_DATABASE_URL and writes the printed section into bench/RESULTS.md).
 *
 * The library is driven through its public API only (OutboxService, @HandleEvent, FlowbusModule
 * options, drainOutbox); the bench reads nothing of its tables but their `flowbus_` names, so the
 * same bench measures whichever storage design the library has.
 *
 * Options: --quick (or BENCH_QUICK=1), --only <section,...> (drain, enqueue, e2e, publish, latency,
 * size, rss; default: all but enqueue and rss), --configs <drain id,...|all>, --passes <n>,
 * --backlog <rows>, --cpu-prof (profiles of the children in bench/out/profiles),
 * --record-baseline (write the medians to bench/relay/baseline-0.1.json and the report to its own
 * "relay-before" section of RESULTS.md: the BEFORE run of the 0.1 table design), --section <label>
 * (write the report to its own "relay-<label>" section, e.g. a partial run of a few configurations).
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
    'record-baseline': { type: 'boolean', default: false },
    section: { type: 'string' },
  },
});
const quick = values.quick || process.env.BENCH_QUICK === '1';

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
  else if (task.kind === 'publish') {
    handler = once(publishChild(task.clients as number, url, budget.publishWarmupMs, budget.publishMs));
  } else if (task.kind === 'size') handler = sizeChild(url);
  else throw new Error(`unknown child task ${String(task.kind)}`);
}

async function parent(): Promise<void> {
  const started = Date.now();
  const machine = describeMachine();
  const base = quick ? QUICK_BUDGET : FULL_BUDGET;
  const budget: RelayBudget = {
    ...base,
    passes: values.passes ? Math.max(1, Number(values.passes)) : base.passes,
    backlog: values.backlog ? Math.max(1000, Number(values.backlog)) : base.backlog,
  };
  setPatience(budget.patienceMs);
  const sections = (values.only ? values.only.split(',') : [...DEFAULT_SECTIONS]) as Section[];
  for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; known: ${SECTIONS}`);
  const drainIds =
    values.configs === 'all'
      ? DRAIN_CONFIGS.map((c) => c.id)
      : values.configs
        ? values.configs.split(',')
        : quick
          ? QUICK_DRAIN_IDS
          : DEFAULT_DRAIN_IDS;
  const drainConfigs = drainIds.map(drainConfigById);
  console.log(`relay bench${quick ? ' (quick)' : ''}: ${sections.join(', ')}; ${budget.passes} pass(es) (${machine})`);

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
  const results: RelayResults = {
    drains: new Map(),
    enqueue: new Map(),
    endToEnd: new Map(),
    latency: new Map(),
    publish: new Map(),
  };
  try {
    if (sections.includes('drain')) await runDrains(ctx, drainConfigs, results);
    if (sections.includes('enqueue')) await runEnqueue(ctx, results);
    if (sections.includes('e2e')) await runEndToEnd(ctx, results);
    if (sections.includes('publish')) await runPublish(ctx, results);
    if (sections.includes('latency')) await runLatency(ctx, results);
    if (sections.includes('size')) await runSize(ctx, results);
    if (sections.includes('rss')) await runMemory(ctx, results);
  } finally {
    await db.end();
  }

  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const command = process.env.BENCH_COMMAND ?? 'npm run bench -- relay';
  if (values['record-baseline']) {
    await writeBaseline(results, { date, command, quick });
    console.log(`0.1 baseline written to ${BASELINE_FILE}`);
  }

  const report = relayReport(results, {
    machine: `${machine}; at the end ${describeLoad()}`,
    date,
    command,
    budget,
    quick,
    durationMs: Date.now() - started,
    notes: values['record-baseline'] ? STORAGE_NOTES : RELAY_NOTES,
    baseline: values['record-baseline'] ? undefined : await readBaseline(),
    before: values['record-baseline'],
    ...(values.section ? { section: values.section } : {}),
  });
  console.log(`\n${report}\n`);
  if (process.env.BENCH_REPORT) await writeFile(process.env.BENCH_REPORT, `${report}\n`);
}

import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contenderById, CONTENDERS } from './bus/contenders/contenders.js';
import { measure } from './bus/measure.js';
import { isClean, runPasses, taskKey } from './bus/passes.js';
import { FULL_BUDGET, QUICK_BUDGET, SCENARIOS, scenarioById, type ChildTask } from './bus/plan.js';
import { busReport } from './bus/report.js';
import { summarizeRounds, type Results } from './bus/summary.js';
import { sendToParent } from './support/child-process.js';
import { describeLoad, describeMachine } from './support/machine.js';

/*
 * In-process bus benchmark: raw node:events, @nestjs/event-emitter, @nestjs/cqrs and Flowbus on
 * the same handler bodies. Run through `npm run bench -- bus` (bench/run.mjs builds, provides
 * PostgreSQL in BENCH_DATABASE_URL and writes the section this prints into bench/RESULTS.md).
 *
 * Parent options: --quick, --only <contender,...>, --scenarios <id,...>, --rounds <n> (at least 5),
 * --processes <n>, --cpu-prof (profiles of the children in bench/out/profiles).
 */

const self = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    scenarios: { type: 'string' },
    rounds: { type: 'string' },
    processes: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

if (values.child) await child(JSON.parse(values.child) as ChildTask);
else await parent();

async function child(task: ChildTask): Promise<void> {
  const scenario = scenarioById(task.scenario);
  const contender = await contenderById(task.contender).create({
    handlers: scenario.handlers,
    kind: scenario.kind,
    unrelated: scenario.unrelated,
    databaseUrl: process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL,
  });
  const rounds = await measure(contender, scenario.handlers, task.budget);
  await contender.close();
  sendToParent(rounds);
}

async function parent(): Promise<void> {
  const started = Date.now();
  const machine = describeMachine();
  const base = values.quick ? QUICK_BUDGET : FULL_BUDGET;
  const budget = {
    ...base,
    rounds: values.rounds ? Math.max(5, Number(values.rounds)) : base.rounds,
    processes: values.processes ? Math.max(1, Number(values.processes)) : base.processes,
  };
  const contenders = values.only ? values.only.split(',').map((id) => contenderById(id)) : CONTENDERS;
  const scenarios = values.scenarios ? values.scenarios.split(',').map(scenarioById) : SCENARIOS;
  const tasks = scenarios.flatMap((s) => contenders.map((c) => ({ contender: c.id, scenario: s.id, budget })));
  console.log(`bus bench: ${tasks.length} configurations × ${budget.processes} fresh process(es) (${machine})`);

  const execArgv = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir=bench/out/profiles'] : [];
  const runs = await runPasses(self, tasks, budget, execArgv);

  // A configuration's figures come from its undisturbed processes; from all of them, and marked,
  // only when every one was disturbed.
  const results: Results = new Map();
  let disturbed = 0;
  let processes = 0;
  let dropped = 0;
  for (const task of tasks) {
    const all = runs.get(taskKey(task))!;
    const clean = all.filter(isClean);
    processes += all.length;
    dropped += clean.length ? all.length - clean.length : 0;
    if (!clean.length) disturbed++;
    const summary = summarizeRounds((clean.length ? clean : all).flatMap((r) => r.rounds));
    if (!results.has(task.scenario)) results.set(task.scenario, new Map());
    results.get(task.scenario)!.set(task.contender, { ...summary, disturbed: !clean.length });
  }

  const report = busReport(results, {
    machine: `${machine}; at the end ${describeLoad()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: process.env.BENCH_COMMAND ?? 'npm run bench -- bus',
    budget,
    processes,
    dropped,
    disturbed,
    durationMs: Date.now() - started,
  });
  console.log(`\n${report}\n`);
  if (process.env.BENCH_REPORT) await writeFile(process.env.BENCH_REPORT, `${report}\n`);
}

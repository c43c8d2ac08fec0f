import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FULL_BUDGET, QUICK_BUDGET, type SagaBudget } from './saga/plan.js';
import { sagaReport, type SagaResults } from './saga/report.js';
import { stepsChild, type StepsRound } from './saga/steps.js';
import { timeoutsChild, type TimeoutRound } from './saga/timeouts.js';
import { SAGA_NOTES } from './saga/notes.js';
import { benchDatabaseUrl } from './support/flowbus-app.js';
import { rate } from './support/format.js';
import { DEFAULT_QUIET, measureQuietly, postmasterPid, type Measured } from './support/machine-load.js';
import { describeLoad, describeMachine } from './support/machine.js';
import { connectClient } from './support/pg-client.js';
import { serveParent, WorkerProcess } from './support/worker-process.js';

/*
 * Saga benchmark (issue 4, "Speed"): saga steps per second through the durable path compared with
 * the relay's no-op rate, and saga timeout lateness with 10,000 pending timeouts. Run through
 * `npm run bench -- saga` (bench/run.mjs builds, provides PostgreSQL and writes the section).
 *
 * Options: --quick, --only steps|timeouts, --passes <n>, --cpu-prof.
 */

const self = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    passes: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

/** Default of `timeouts.pollIntervalMs`, which the timeouts child runs with. */
const POLL_INTERVAL_MS = 1000;

if (values.child) child(values.child);
else await parent();

function child(kind: string): void {
  const url = benchDatabaseUrl();
  const handler = kind === 'steps' ? stepsChild(url) : timeoutsChild(url);
  serveParent(async (m) => (await handler)(m));
}

async function parent(): Promise<void> {
  const started = Date.now();
  const machine = describeMachine();
  const base = values.quick ? QUICK_BUDGET : FULL_BUDGET;
  const budget: SagaBudget = { ...base, passes: values.passes ? Math.max(1, Number(values.passes)) : base.passes };
  const only = values.only ? values.only.split(',') : ['steps', 'timeouts'];
  console.log(`saga bench: ${only.join(', ')}; ${budget.passes} pass(es) (${machine})`);
  const start = (kind: string) =>
    WorkerProcess.start(self, {
      args: ['--child', kind],
      execArgv: values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir=bench/out/profiles'] : [],
      name: `saga ${kind}`,
    });
  const results: SagaResults = { steps: [], noop: [], timeouts: [] };
  const db = await connectClient(benchDatabaseUrl());
  const postgres = await postmasterPid(db);
  await db.end();
  const roots = () => (postgres ? [process.pid, postgres] : [process.pid]);
  const others = (m: Measured<unknown>) =>
    m.othersCores === undefined
      ? ''
      : `, others ${m.othersCores.toFixed(2)} cores${m.attempts > 1 ? ` after ${m.attempts} tries` : ''}`;

  for (let pass = 0; pass < budget.passes; pass++) {
    if (only.includes('steps')) {
      const c = start('steps');
      try {
        await c.next('ready');
        await c.ask({ type: 'chains', n: budget.warmupInstances, tag: `w${pass}` }, 'round');
        await c.ask({ type: 'noop', n: budget.noopRows / 4 }, 'round');
        // Alternate which goes first, so a busy moment does not always hit the same one.
        const order = pass % 2 ? ['noop', 'chains'] : ['chains', 'noop'];
        for (const what of order) {
          const n = what === 'chains' ? budget.instances : budget.noopRows;
          let attempt = 0;
          const m = await measureQuietly(roots, () =>
            c.ask<StepsRound>({ type: what, n, tag: `p${pass}-${attempt++}` }, 'round', 300_000),
          );
          (what === 'chains' ? results.steps : results.noop).push(m);
          console.log(
            `[${what} ${pass + 1}/${budget.passes}] ${rate(m.value.perSec)} ${what === 'chains' ? 'steps' : 'rows'}/s ` +
              `(${m.value.seconds.toFixed(2)} s${others(m)})`,
          );
        }
      } finally {
        await c.stop();
      }
    }
    if (only.includes('timeouts')) {
      const c = start('timeouts');
      try {
        await c.next('ready');
        await c.ask({ type: 'timers', n: budget.warmupTimeouts, spreadMs: 1000, tag: `w${pass}` }, 'round');
        let attempt = 0;
        const m = await measureQuietly(
          roots,
          () =>
            c.ask<TimeoutRound>(
              { type: 'timers', n: budget.timeouts, spreadMs: budget.spreadMs, tag: `p${pass}-${attempt++}` },
              'round',
              300_000,
            ),
          { ...DEFAULT_QUIET, maxAttempts: 2 },
        );
        results.timeouts.push(m);
        const r = m.value;
        console.log(
          `[timeouts ${pass + 1}/${budget.passes}] p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, ` +
            `max ${r.max.toFixed(0)} ms (created in ${r.createSeconds.toFixed(1)} s, ${r.scheduledLate} already due${others(m)})`,
        );
      } finally {
        await c.stop();
      }
    }
  }

  const report = sagaReport(results, {
    machine: `${machine}; at the end ${describeLoad()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: process.env.BENCH_COMMAND ?? 'npm run bench -- saga',
    budget,
    durationMs: Date.now() - started,
    pollIntervalMs: POLL_INTERVAL_MS,
    notes: SAGA_NOTES,
  });
  console.log(`\n${report}\n`);
  if (process.env.BENCH_REPORT) await writeFile(process.env.BENCH_REPORT, `${report}\n`);
}

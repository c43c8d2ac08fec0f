import { rate, table } from '../support/format.js';
import { summarize, type Summary } from '../support/stats.js';
import { CREATORS, type SagaBudget } from './plan.js';
import { QUIET_METHOD, type Measured } from '../support/machine-load.js';
import type { StepsRound } from './steps.js';
import type { TimeoutRound } from './timeouts.js';

export interface SagaResults {
  readonly steps: Measured<StepsRound>[];
  readonly noop: Measured<StepsRound>[];
  readonly timeouts: Measured<TimeoutRound>[];
}

export interface RunInfo {
  readonly machine: string;
  readonly date: string;
  readonly command: string;
  readonly budget: SagaBudget;
  readonly durationMs: number;
  readonly pollIntervalMs: number;
  readonly notes: readonly string[];
}

const fmt = (s: Summary, f: (n: number) => string) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
const ms = (n: number) => n.toFixed(n >= 100 ? 0 : 1);
/** Median load of other processes over the rounds, and how many rounds were repeated. */
const load = (rounds: readonly Measured<unknown>[]) => {
  const known = rounds.filter((r) => r.othersCores !== undefined).map((r) => r.othersCores!);
  const repeated = rounds.reduce((n, r) => n + r.attempts - 1, 0);
  return `${known.length ? summarize(known).median.toFixed(2) : 'n/a'}${repeated ? ` (${repeated} repeated)` : ''}`;
};

/** The saga section of bench/RESULTS.md. */
export function sagaReport(r: SagaResults, run: RunInfo): string {
  const b = run.budget;
  const lines = [
    '## Sagas (`bench/saga.bench.ts`)',
    '',
    `- Command: \`${run.command}\``,
    `- Date: ${run.date} (whole saga bench: ${(run.durationMs / 1000).toFixed(0)} s)`,
    `- Machine: ${run.machine}`,
    `- Method: ${b.passes} fresh Node process(es) per measurement, each with a warm-up round first. Cells: ` +
      'median over the processes (min–max).',
    `- ${QUIET_METHOD}`,
  ];
  const checks: string[][] = [];
  if (r.steps.length && r.noop.length) {
    const steps = summarize(r.steps.map((x) => x.value.perSec));
    const noop = summarize(r.noop.map((x) => x.value.perSec));
    checks.push([
      'saga steps/s within 3× of the relay no-op rate (same relay, same run)',
      `${rate(steps.median)} steps/s vs ${rate(noop.median)} rows/s = 1/${(noop.median / steps.median).toFixed(2)}`,
      steps.median * 3 >= noop.median ? 'met' : '**missed**',
    ]);
  }
  if (r.timeouts.length) {
    const p99 = summarize(r.timeouts.map((x) => x.value.p99)).median;
    const limit = run.pollIntervalMs + 100;
    checks.push([
      `timeout lateness p99 ≤ timeouts.pollIntervalMs + 100 ms (${run.pollIntervalMs} + 100)`,
      `p99 ${ms(p99)} ms`,
      p99 <= limit ? 'met' : '**missed**',
    ]);
  }
  lines.push('', '### Targets (issue 4)', '', table(['target', 'measured (median)', 'verdict'], checks));

  if (r.steps.length) {
    lines.push(
      '',
      `### Durable steps: ${b.instances.toLocaleString('en')} concurrent instances × 3 steps`,
      '',
      `The start events of ${b.instances.toLocaleString('en')} instances are written with \`OutboxService.publish\` ` +
        'in one transaction; each step publishes the next event with `ctx.publish` ' +
        '(an outbox row committed with the step), so every step is a relay delivery into the saga engine ' +
        "through the `local` destination, which runs the saga's deliveries of one claim in transactions sized by " +
        "the steps' measured time (10 to 500; inbox rows and instances in one statement, steps, then one statement " +
        'writing the instances and the next outbox rows). Timed from the first step run to every instance `completed` ' +
        'in the database. Relay and pool at their defaults (the log storage: batch 500, concurrency 1000; pool of 10). The no-op drain uses the same app and relay on ' +
        `${b.noopRows.toLocaleString('en')} rows to a destination that resolves at once.`,
      '',
      table(
        ['', 'per second', 'seconds', "others' load, cores"],
        [
          ['saga steps (durable path)', ...stepCells(r.steps)],
          ['relay no-op deliveries', ...stepCells(r.noop)],
        ],
      ),
    );
  }
  if (r.timeouts.length) {
    const s = (pick: (t: TimeoutRound) => number, f = ms) => fmt(summarize(r.timeouts.map((x) => pick(x.value))), f);
    lines.push(
      '',
      `### Timeout lateness with ${b.timeouts.toLocaleString('en')} pending timeouts, ms`,
      '',
      `${b.timeouts.toLocaleString('en')} instances are started through \`bus.publish\` (${CREATORS} concurrent ` +
        'callers); each start step schedules one timeout with `{ at }`, the due times spread evenly over ' +
        `${b.spreadMs / 1000} s beginning after the last instance was created. Lateness = real time in the ` +
        '`@OnTimeout` handler minus the due time. Scheduler at its defaults: `timeouts.pollIntervalMs` ' +
        `${run.pollIntervalMs}, batch 100; each saga's due timeouts fire in transactions of up to 25, 4 at once, ` +
        'and after each round an alarm is set for the next due timeout.',
      '',
      table(
        ['p50', 'p99', 'max', 'fired', 'scheduled already due', 'creation, s', "others' load, cores"],
        [
          [
            s((t) => t.p50),
            s((t) => t.p99),
            s((t) => t.max),
            s(
              (t) => t.fired,
              (n) => n.toFixed(0),
            ),
            s(
              (t) => t.scheduledLate,
              (n) => n.toFixed(0),
            ),
            s(
              (t) => t.createSeconds,
              (n) => n.toFixed(1),
            ),
            load(r.timeouts),
          ],
        ],
      ),
    );
  }
  if (run.notes.length) lines.push('', '### Notes', '', ...run.notes);
  return lines.join('\n');
}

function stepCells(rounds: readonly Measured<StepsRound>[]): string[] {
  return [
    fmt(summarize(rounds.map((x) => x.value.perSec)), rate),
    fmt(summarize(rounds.map((x) => x.value.seconds)), (n) => n.toFixed(2)),
    load(rounds),
  ];
}

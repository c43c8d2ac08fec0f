import { micros, rate, ratio, table } from '../support/format.js';
import type { Summary } from '../support/stats.js';
import { CONTENDERS, REFERENCE, type ContenderSpec } from './contenders/contenders.js';
import { DISTURBED_CORES } from './passes.js';
import { BURSTS, SCENARIOS, type Budget } from './plan.js';
import type { Results, Summarized } from './summary.js';
import { checkTargets } from './targets.js';

/** Where and how the figures were produced. */
export interface RunInfo {
  readonly machine: string;
  readonly date: string;
  readonly command: string;
  readonly budget: Budget;
  /** Child processes run, retries included. */
  readonly processes: number;
  /** Processes left out because other work disturbed them (their configuration had clean ones). */
  readonly dropped: number;
  /** Configurations whose every process was disturbed: figures kept, cells marked †. */
  readonly disturbed: number;
  readonly durationMs: number;
}

/** The bus section of bench/RESULTS.md. */
export function busReport(results: Results, run: RunInfo): string {
  const contenders = CONTENDERS.filter((c) => [...results.values()].some((byContender) => byContender.has(c.id)));
  const b = run.budget;
  const checks = checkTargets(results);
  return [
    '## In-process bus (`bench/bus.bench.ts`)',
    '',
    `- Command: \`${run.command}\``,
    `- Date: ${run.date} (whole bus bench: ${(run.durationMs / 1000).toFixed(0)} s)`,
    `- Machine: ${run.machine}`,
    `- Method: each configuration (bus × scenario) runs in ${b.processes} fresh Node process(es), one per pass ` +
      'over the whole plan (each pass starting at a different point of it); each process warms up for ' +
      `${b.warmupMs} ms, then runs ${b.rounds} rounds of ${b.roundMs} ms per burst size plus ` +
      `${b.latencySamples} single-event latency samples. Cells: median over the rounds of the kept processes ` +
      `(up to ${b.rounds * b.processes}), ×ratio against Flowbus (full isolation) in the same row, ` +
      '(min–max over those rounds).',
    `- Neighbours: before each process the runner waits (up to 20 s, 60 s per run) until other work uses under ` +
      `${DISTURBED_CORES} cores, and measures what other work used while the process ran. Processes above ` +
      `${DISTURBED_CORES} cores are dropped when their configuration has an undisturbed one: ${run.dropped} of ` +
      `${run.processes} were. ` +
      (run.disturbed
        ? `${run.disturbed} configuration(s) had no undisturbed process; their cells are marked † and read low.`
        : 'Every configuration kept at least one undisturbed process.'),
    '- Same handler bodies everywhere: sync = a little arithmetic on the event then a completion count; ' +
      'async = `await null`, then the same. Buses marked "(counted)" cannot be awaited, so a burst ends when ' +
      'the handlers counted every run; the others end when the awaited publishes resolved (a burst of N: ' +
      'start N publishes, then await them all).',
    '- Flowbus full isolation = defaults (handler errors caught, logged and reported) plus `handlerTimeoutMs: 30000`.',
    '',
    '### Targets (Flowbus `await publish`, full isolation)',
    '',
    table(
      ['target', 'measured (median)', 'verdict'],
      checks.map((c) => [c.target, c.measured, c.met ? 'met' : '**missed**']),
    ),
    '',
    '### Throughput, events/s (higher is better; × = this bus ÷ Flowbus)',
    '',
    throughputTable(results, contenders),
    '',
    '### Latency p50, µs from publish call to last handler done (lower is better; × = this bus ÷ Flowbus)',
    '',
    latencyTable(results, contenders, (s) => s.doneP50),
    '',
    '### Latency p99, µs from publish call to last handler done',
    '',
    latencyTable(results, contenders, (s) => s.doneP99),
    '',
    '### Awaited buses: µs from publish call until `await` resumed in the caller, p50 / p99',
    '',
    latencyTable(
      results,
      contenders.filter((c) => c.completion === 'awaited'),
      (s) => s.resumedP50,
      (s) => s.resumedP99,
    ),
  ].join('\n');
}

function header(contenders: readonly ContenderSpec[], first: readonly string[]): string[] {
  return [...first, ...contenders.map((c) => (c.completion === 'counted' ? `${c.label} (counted)` : c.label))];
}

function throughputTable(results: Results, contenders: readonly ContenderSpec[]): string {
  const rows: string[][] = [];
  for (const scenario of SCENARIOS) {
    const byContender = results.get(scenario.id);
    if (!byContender) continue;
    for (const burst of BURSTS) {
      const reference = byContender.get(REFERENCE)?.eventsPerSec[burst]?.median;
      rows.push([
        scenario.label,
        String(burst),
        ...contenders.map((c) => {
          const s = byContender.get(c.id);
          return mark(s, cell(s?.eventsPerSec[burst], reference, rate));
        }),
      ]);
    }
  }
  return table(header(contenders, ['scenario', 'burst']), rows);
}

function latencyTable(
  results: Results,
  contenders: readonly ContenderSpec[],
  pick: (s: Summarized) => Summary | undefined,
  second?: (s: Summarized) => Summary | undefined,
): string {
  const rows: string[][] = [];
  for (const scenario of SCENARIOS) {
    const byContender = results.get(scenario.id);
    if (!byContender) continue;
    const reference = byContender.get(REFERENCE);
    const refValue = reference && pick(reference)?.median;
    rows.push([
      scenario.label,
      ...contenders.map((c) => {
        const s = byContender.get(c.id);
        if (!s) return '–';
        const first = cell(pick(s), second ? undefined : refValue, micros);
        const other = second?.(s);
        return mark(s, other ? `${first} / ${cell(other, undefined, micros)}` : first);
      }),
    ]);
  }
  return table(header(contenders, ['scenario']), rows);
}

/** † on the figures of a configuration whose every process was disturbed by other work. */
function mark(s: Summarized | undefined, text: string): string {
  return s?.disturbed ? `${text} †` : text;
}

function cell(s: Summary | undefined, reference: number | undefined, fmt: (n: number) => string): string {
  if (!s) return '–';
  const r = reference === undefined ? '' : ` ${ratio(s.median, reference)}`;
  return `${fmt(s.median)}${r} (${fmt(s.min)}–${fmt(s.max)})`;
}

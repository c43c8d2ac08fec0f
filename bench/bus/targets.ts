import { micros, rate } from '../support/format.js';
import { REFERENCE } from './contenders/contenders.js';
import { BURSTS, SCENARIOS } from './plan.js';
import type { Results, Summarized } from './summary.js';

/** One line of the targets check. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

const TOLERANCE = 0.1;

/** The issue's targets for Flowbus `await publish` with full isolation, against the medians. */
export function checkTargets(results: Results): TargetCheck[] {
  const flowbus = (scenario: string): Summarized | undefined => results.get(scenario)?.get(REFERENCE);
  const checks: TargetCheck[] = [];

  // `issue` is the hand-written countdown's rate quoted with the targets: this run's countdown
  // figures beside it show how fast the (shared) machine was while the targets were measured.
  const minRate = (target: string, scenario: string, floor: number, issue?: string) => {
    const s = flowbus(scenario);
    if (!s) return;
    const rates = BURSTS.map((b) => s.eventsPerSec[b]!.median);
    const reference = results.get(scenario)?.get('countdown');
    const context =
      issue && reference
        ? `; countdown join here: ${BURSTS.map((b) => rate(reference.eventsPerSec[b]!.median)).join(' / ')}` +
          ` (issue: ${issue})`
        : '';
    checks.push({
      target,
      measured: BURSTS.map((b, i) => `${rate(rates[i]!)} (burst ${b})`).join(', ') + context + dagger(s),
      met: rates.every((r) => r >= floor),
    });
  };
  minRate('≥ 500k events/s, 10 async handlers', 'async-10', 500_000, '~685k');
  minRate('≥ 3M events/s, 1 async handler', 'async-1', 3_000_000, '~4.4M');
  minRate('≥ 2M events/s, 10 sync handlers', 'sync-10', 2_000_000);

  for (const scenario of ['async-10', 'async-1']) {
    const s = flowbus(scenario);
    if (!s) continue;
    const resumed = s.resumedP50 ? `; to \`await\` resumed ${micros(s.resumedP50.median)} µs` : '';
    checks.push({
      target: `p50 ≤ 1.5 µs publish → last handler done, ${scenario.replace('async-', '')} async handler(s)`,
      measured: `${micros(s.doneP50.median)} µs${resumed}${dagger(s)}`,
      met: s.doneP50.median <= 1500,
    });
  }

  for (const [base, loaded] of [
    ['async-10', 'async-10+49'],
    ['async-1', 'async-1+49'],
  ] as const) {
    const a = flowbus(base);
    const b = flowbus(loaded);
    if (!a || !b) continue;
    const deltas = BURSTS.map((burst) => b.eventsPerSec[burst]!.median / a.eventsPerSec[burst]!.median - 1);
    checks.push({
      target: `±10% with 49 handlers of other event types (${loaded} vs ${base})`,
      measured: BURSTS.map((burst, i) => `${signed(deltas[i]!)} (burst ${burst})`).join(', ') + dagger(a, b),
      met: deltas.every((d) => Math.abs(d) <= TOLERANCE),
    });
  }

  for (const scenario of SCENARIOS) {
    const s = flowbus(scenario.id);
    if (!s) continue;
    const deltas = burstDeltas(s);
    // The same spread for the hand-written countdown tells the bus's share from the workload's.
    const reference = results.get(scenario.id)?.get('countdown');
    const context = reference ? ` (hand-written countdown: ${burstDeltas(reference).map(signed).join(' / ')})` : '';
    checks.push({
      target: `±10% across burst sizes 1/100/1000 (${scenario.label}; vs the middle value)`,
      measured: `${deltas.map(signed).join(' / ')}${context}${dagger(s)}`,
      met: deltas.every((d) => Math.abs(d) <= TOLERANCE),
    });
  }
  return checks;
}

/** Each burst size's events/s relative to the middle one of the three. */
function burstDeltas(s: Summarized): number[] {
  const rates = BURSTS.map((b) => s.eventsPerSec[b]!.median);
  const middle = [...rates].sort((x, y) => x - y)[1]!;
  return rates.map((r) => r / middle - 1);
}

/** Marks a figure that comes only from processes disturbed by other work. */
function dagger(...summaries: Summarized[]): string {
  return summaries.some((s) => s.disturbed) ? ' †' : '';
}

function signed(fraction: number): string {
  const pct = (fraction * 100).toFixed(1);
  return fraction >= 0 ? `+${pct}%` : `${pct}%`;
}

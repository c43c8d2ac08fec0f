import { rate } from '../support/format.js';
import { summarize } from '../support/stats.js';
import { END_TO_END_CONFIGS } from './end-to-end.js';
import { DRAIN_CONFIGS, HEADLINE } from './plan.js';
import type { RelayResults } from './sections.js';

/** One line of the targets table. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

const median = (values: readonly number[] | undefined) => (values?.length ? summarize(values).median : undefined);

/** Median rows/s of the fastest hand-written claim + mark loop at `batch` (the ceiling). */
export function rawCeiling(r: RelayResults, batch: number): number | undefined {
  const medians = DRAIN_CONFIGS.filter(
    (c) => c.spec.kind === 'raw-pg' && c.spec.batch === batch && c.spec.ack === 'mark' && r.drains.has(c.id),
  ).map((c) => summarize(r.drains.get(c.id)!.map((d) => d.rowsPerSec)).median);
  return medians.length ? Math.max(...medians) : undefined;
}
const pct = (r: number) => `${(r * 100).toFixed(0)}%`;

/** Targets of issue 3 ("Speed"), each checked on medians measured in this run. */
export function checkTargets(r: RelayResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const drain = (id: string) => median(r.drains.get(id)?.map((d) => d.rowsPerSec));
  const flowbus = drain(HEADLINE.flowbus);
  const compare = (target: string, reference: number | undefined, factor: number, name: string) => {
    if (flowbus === undefined || reference === undefined) return;
    const ratio = flowbus / reference;
    checks.push({
      target,
      measured: `${rate(flowbus)} vs ${name} ${rate(reference)} rows/s = ${factor < 1 ? pct(ratio) : `${ratio.toFixed(2)}×`}`,
      met: ratio >= factor,
    });
  };
  compare(
    'relay ≥ 75% of the raw-pg ceiling (batch 100, 1 relay; ceiling = fastest hand-written claim + mark loop)',
    rawCeiling(r, 100),
    0.75,
    'raw pg',
  );
  compare('relay ≥ 1.7× graphile-worker tuned', drain(HEADLINE.graphile), 1.7, 'graphile-worker');
  compare('relay ≥ 5× pg-boss tuned (batch 100)', drain(HEADLINE.pgBoss), 5, 'pg-boss');

  for (const clients of [1, 4]) {
    const plain = median(r.enqueue.get(`plain-c${clients}`)?.map((m) => m.value));
    const outbox = median(r.enqueue.get(`outbox-c${clients}`)?.map((m) => m.value));
    if (plain === undefined || outbox === undefined) continue;
    checks.push({
      target: `enqueue ≥ 90% of a plain INSERT, ${clients} client${clients > 1 ? 's' : ''} (notify off, the default)`,
      measured: `${rate(outbox)} vs ${rate(plain)} tx/s = ${pct(outbox / plain)}`,
      met: outbox / plain >= 0.9,
    });
  }

  const batched = END_TO_END_CONFIGS.find((c) => c.rowsPerTx > 1)!;
  const e2e = median(r.endToEnd.get(batched.id)?.map((e) => e.value.deliveredPerSec));
  if (e2e !== undefined) {
    checks.push({
      target: 'end to end ≥ 40k rows/s delivered with batched producers',
      measured: `${rate(e2e)} rows/s (${batched.label})`,
      met: e2e >= 40_000,
    });
  }

  for (const mode of ['same', 'cross']) {
    const rounds = r.latency.get(mode)?.map((m) => m.value);
    if (!rounds) continue;
    const p50 = median(rounds.map((l) => l.commitP50))!;
    const p99 = median(rounds.map((l) => l.commitP99))!;
    const callP50 = median(rounds.map((l) => l.p50))!;
    const callP99 = median(rounds.map((l) => l.p99))!;
    checks.push({
      target: `woken latency p50 ≤ 3 ms and p99 ≤ 20 ms, commit → deliver (${mode === 'same' ? 'same instance' : 'cross-instance NOTIFY'})`,
      measured:
        `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms ` +
        `(from the enqueue call, transaction included: p50 ${callP50.toFixed(2)} ms, p99 ${callP99.toFixed(2)} ms)`,
      met: p50 <= 3 && p99 <= 20,
    });
  }

  if (r.rss) {
    const range = (series: readonly number[]) => {
      const min = Math.min(...series);
      const max = Math.max(...series);
      return { text: `${min.toFixed(0)}–${max.toFixed(0)} MiB, max/min ${(max / min).toFixed(2)}`, ratio: max / min };
    };
    const cold = range(r.rss.value.rssMiB);
    const warm = r.rssWarm ? range(r.rssWarm.value.rssMiB) : undefined;
    checks.push({
      target: 'RSS flat (±20%) while draining 200,000 rows',
      measured: warm
        ? `${warm.text} (2nd drain in the process, after a warm-up drain; 1st drain from a cold start: ${cold.text})`
        : `${cold.text} (from a cold start)`,
      met: (warm ?? cold).ratio <= 1.2,
    });
  }
  return checks;
}

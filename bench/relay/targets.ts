import { rate } from '../support/format.js';
import { summarize } from '../support/stats.js';
import type { Baseline } from './baseline.js';
import { END_TO_END_CONFIGS } from './end-to-end.js';
import { DRAIN_CONFIGS, HEADLINE } from './plan.js';
import type { RelayResults } from './sections.js';

/** One line of the targets table. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** Measured ÷ required for "≥" targets, required ÷ measured for "≤" ones: ≥ 1 is met. */
  readonly score: number;
  /** The same figure in the recorded 0.1 baseline run, when there is one. */
  readonly before?: string;
}

const median = (values: readonly number[] | undefined) => (values?.length ? summarize(values).median : undefined);

/** The headline figures of a run, by name: what targets are checked on and the baseline records. */
export type KeyFigures = Partial<Record<KeyFigure, number>>;
export type KeyFigure =
  | 'relayRowsPerSec'
  | 'telemetryOffRowsPerSec'
  | 'telemetrySdkRowsPerSec'
  | 'telemetryFloorRowsPerSec'
  | 'ceilingRowsPerSec'
  | 'graphileRowsPerSec'
  | 'pgBossRowsPerSec'
  | 'relayWalPerRow'
  | 'ceilingWalPerRow'
  | 'e2eWrittenPerSec'
  | 'e2eDeliveredPerSec'
  | 'e2eDeliveredShare'
  | 'publish1PerSec'
  | 'publish4PerSec'
  | 'publish1Relative'
  | 'publish4Relative'
  | 'sameP50'
  | 'sameP99'
  | 'crossP50'
  | 'crossP99'
  | 'sizeFirstBytes'
  | 'sizeLastBytes'
  | 'sizeGrowth';

/** Claim + mark configurations on the bench's copy of the 0.1 table. */
const claimMark = DRAIN_CONFIGS.filter((c) => c.spec.kind === 'raw-pg' && c.spec.ack === 'mark');

/** Id of the fastest claim + mark configuration measured (median rows/s), at `batch` or any batch. */
export function ceilingId(r: RelayResults, batch?: number): string | undefined {
  let best: { id: string; rate: number } | undefined;
  for (const c of claimMark) {
    if (c.spec.kind !== 'raw-pg' || (batch !== undefined && c.spec.batch !== batch) || !r.drains.has(c.id)) continue;
    const m = summarize(r.drains.get(c.id)!.map((d) => d.rowsPerSec)).median;
    if (!best || m > best.rate) best = { id: c.id, rate: m };
  }
  return best?.id;
}

/** Median rows/s of the fastest claim + mark loop at `batch` (any batch when unset). */
export function rawCeiling(r: RelayResults, batch?: number): number | undefined {
  const id = ceilingId(r, batch);
  return id ? median(r.drains.get(id)!.map((d) => d.rowsPerSec)) : undefined;
}

export function keyFigures(r: RelayResults): KeyFigures {
  const f: KeyFigures = {};
  const set = (k: KeyFigure, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) f[k] = v;
  };
  const drain = (id: string | undefined) => (id ? median(r.drains.get(id)?.map((d) => d.rowsPerSec)) : undefined);
  const wal = (id: string | undefined) => (id ? median(r.drains.get(id)?.map((d) => d.walBytesPerJob)) : undefined);
  const ceiling = ceilingId(r);
  set('relayRowsPerSec', drain(HEADLINE.flowbus));
  set('telemetryOffRowsPerSec', drain(HEADLINE.telemetryOff));
  set('telemetrySdkRowsPerSec', drain(HEADLINE.telemetrySdk));
  set('telemetryFloorRowsPerSec', drain(HEADLINE.telemetryFloor));
  set('ceilingRowsPerSec', drain(ceiling));
  set('graphileRowsPerSec', drain(HEADLINE.graphile));
  set('pgBossRowsPerSec', drain(HEADLINE.pgBoss));
  set('relayWalPerRow', wal(HEADLINE.flowbus));
  set('ceilingWalPerRow', wal(ceiling));
  const batched = END_TO_END_CONFIGS.find((c) => c.rowsPerTx === 100)!;
  const e2e = r.endToEnd.get(batched.id)?.map((m) => m.value);
  set('e2eWrittenPerSec', median(e2e?.map((e) => e.producedPerSec)));
  set('e2eDeliveredPerSec', median(e2e?.map((e) => e.deliveredPerSec)));
  set('e2eDeliveredShare', median(e2e?.map((e) => e.deliveredPerSec / e.producedPerSec)));
  for (const c of [1, 4] as const) {
    const rounds = r.publish.get(`c${c}`)?.map((m) => m.value);
    set(`publish${c}PerSec`, median(rounds?.map((x) => x.publish)));
    set(`publish${c}Relative`, median(rounds?.map((x) => x.publish / x.handFanOut)));
  }
  for (const mode of ['same', 'cross'] as const) {
    const rounds = r.latency.get(mode)?.map((m) => m.value);
    set(`${mode}P50`, median(rounds?.map((l) => l.commitP50)));
    set(`${mode}P99`, median(rounds?.map((l) => l.commitP99)));
  }
  if (r.size?.length) {
    set('sizeFirstBytes', r.size[0]!.bytes);
    set('sizeLastBytes', r.size.at(-1)!.bytes);
    set('sizeGrowth', r.size.at(-1)!.bytes / r.size[0]!.bytes);
  }
  return f;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const times = (x: number) => `${x.toFixed(2)}×`;
const bytes = (x: number) => (x >= 1024 ? `${(x / 1024).toFixed(2)} KiB` : `${x.toFixed(0)} B`);
const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
const msf = (x: number) => `${x.toFixed(2)} ms`;

/** How far a check is from its target, e.g. "met, +12%" or "**missed**, −55%". */
export function verdict(c: TargetCheck): string {
  if (Number.isNaN(c.score)) return 'n/a (no 0.1 baseline)';
  const margin = `${c.score >= 1 ? '+' : '−'}${Math.abs((c.score - 1) * 100).toFixed(0)}%`;
  return c.score >= 1 ? `met, margin ${margin}` : `**missed** by ${margin.slice(1)}`;
}

/** Targets of issue 12 ("Speed"), each checked on medians measured in this run. */
export function checkTargets(r: RelayResults, baseline?: Baseline): TargetCheck[] {
  const f = keyFigures(r);
  const b = baseline?.figures ?? {};
  const checks: TargetCheck[] = [];
  const add = (c: TargetCheck | undefined) => c && checks.push(c);
  const has = (...keys: KeyFigure[]) => keys.every((k) => f[k] !== undefined);

  const ratio = (target: string, ref: KeyFigure, factor: number, name: string) => {
    if (!has('relayRowsPerSec', ref)) return undefined;
    const x = f.relayRowsPerSec! / f[ref]!;
    const before = b.relayRowsPerSec !== undefined && b[ref] !== undefined ? b.relayRowsPerSec / b[ref] : undefined;
    return {
      target,
      measured: `${rate(f.relayRowsPerSec!)} vs ${name} ${rate(f[ref]!)} rows/s = ${times(x)}`,
      score: x / factor,
      ...(before === undefined ? {} : { before: times(before) }),
    };
  };
  add(
    ratio(
      'drain ≥ 2.5× the claim + mark ceiling (fastest claim + mark loop on the copy of the 0.1 table, any batch)',
      'ceilingRowsPerSec',
      2.5,
      'claim + mark',
    ),
  );
  add(ratio('drain ≥ 3× graphile-worker tuned', 'graphileRowsPerSec', 3, 'graphile-worker'));
  add(ratio('drain ≥ 2× pg-boss with 2,500-job batches', 'pgBossRowsPerSec', 2, 'pg-boss'));

  // Issue 14: the cost of telemetry, on the default relay's drain (medians of the same run); the
  // CPU per job of the relay process is shown beside the rate, as it depends less on the load.
  const cpu = (id: string) => median(r.drains.get(id)?.map((d) => d.cpuUsPerJob));
  const cost = (target: string, id: string, rowsPerSec: number, ref: number, floor: number) => {
    const [c, cRef] = [cpu(id), cpu(HEADLINE.telemetryOff)];
    const cpuText =
      c === undefined || cRef === undefined
        ? ''
        : `; CPU ${c.toFixed(1)} vs ${cRef.toFixed(1)} µs/job = ${pct(c / cRef)}`;
    return {
      target,
      measured: `${rate(rowsPerSec)} vs telemetry off ${rate(ref)} rows/s = ${pct(rowsPerSec / ref)}${cpuText}`,
      score: rowsPerSec / ref / floor,
    };
  };
  if (has('relayRowsPerSec', 'telemetryOffRowsPerSec')) {
    add(
      cost(
        'drain with the OpenTelemetry API and no SDK within 3% of telemetry off',
        HEADLINE.flowbus,
        f.relayRowsPerSec!,
        f.telemetryOffRowsPerSec!,
        0.97,
      ),
    );
  }
  if (has('telemetrySdkRowsPerSec', 'telemetryOffRowsPerSec')) {
    add(
      cost(
        'drain with the OpenTelemetry SDK registered (in-memory exporters) within 15% of telemetry off',
        HEADLINE.telemetrySdk,
        f.telemetrySdkRowsPerSec!,
        f.telemetryOffRowsPerSec!,
        0.85,
      ),
    );
  }
  if (has('telemetryFloorRowsPerSec', 'telemetryOffRowsPerSec')) {
    // Not a target of its own: the same bound checked on the least a span per attempt can cost
    // (a bare span and a histogram record per delivery, made by the destination), to tell a cost
    // of Flowbus's instrumentation from one of the SDK itself.
    add(
      cost(
        'reference, not Flowbus: a bare SDK span + histogram record per delivery within 15% of telemetry off',
        HEADLINE.telemetryFloor,
        f.telemetryFloorRowsPerSec!,
        f.telemetryOffRowsPerSec!,
        0.85,
      ),
    );
  }

  if (has('e2eDeliveredShare', 'e2eWrittenPerSec', 'e2eDeliveredPerSec')) {
    add({
      target: 'end to end, 4 producers × 100-row transactions: delivered ≥ 95% of written',
      measured: `${rate(f.e2eDeliveredPerSec!)} of ${rate(f.e2eWrittenPerSec!)} rows/s = ${pct(f.e2eDeliveredShare!)}`,
      score: f.e2eDeliveredShare! / 0.95,
      ...(b.e2eDeliveredShare === undefined ? {} : { before: pct(b.e2eDeliveredShare) }),
    });
  }

  for (const clients of [4, 1] as const) {
    const key = `publish${clients}PerSec` as const;
    const rel = `publish${clients}Relative` as const;
    if (!has(key, rel)) continue;
    const ref = b[key];
    const refRel = b[rel];
    const now = `${rate(f[key]!)} events/s, ${times(f[rel]!)} the hand-written 0.1 fan-out in the same run`;
    add({
      target:
        `publish, 1 event with 5 durable subscribers, ${clients} client${clients > 1 ? 's' : ''}: ≥ 3× the 0.1 ` +
        'producer rate (checked on the rate relative to the hand-written 0.1 fan-out, which cancels the machine load)',
      measured:
        refRel === undefined || ref === undefined
          ? `${now} (no 0.1 baseline recorded: run with --record-baseline on 0.1)`
          : `${now} vs 0.1 ${rate(ref)} events/s, ${times(refRel)}: ${times(f[rel]! / refRel)} the 0.1 relative rate ` +
            `(absolute ${times(f[key]! / ref)})`,
      score: refRel === undefined ? Number.NaN : f[rel]! / refRel / 3,
      ...(ref === undefined || refRel === undefined ? {} : { before: `${rate(ref)} events/s, ${times(refRel)}` }),
    });
  }

  if (has('relayWalPerRow', 'ceilingWalPerRow')) {
    const x = f.relayWalPerRow! / f.ceilingWalPerRow!;
    add({
      target: 'WAL per delivered row ≤ 10% of claim + mark',
      measured: `${bytes(f.relayWalPerRow!)} vs claim + mark ${bytes(f.ceilingWalPerRow!)} per row = ${pct(x)}`,
      score: 0.1 / x,
      ...(b.relayWalPerRow !== undefined && b.ceilingWalPerRow !== undefined
        ? { before: `${bytes(b.relayWalPerRow)} = ${pct(b.relayWalPerRow / b.ceilingWalPerRow)}` }
        : {}),
    });
  }

  for (const mode of ['same', 'cross'] as const) {
    const p50 = f[`${mode}P50`];
    const p99 = f[`${mode}P99`];
    if (p50 === undefined || p99 === undefined) continue;
    const bp50 = b[`${mode}P50`];
    const bp99 = b[`${mode}P99`];
    add({
      target: `woken latency commit → deliver p50 ≤ 3 ms, p99 ≤ 20 ms (${mode === 'same' ? 'same instance' : 'across instances, NOTIFY'})`,
      measured: `p50 ${msf(p50)}, p99 ${msf(p99)}`,
      score: Math.min(3 / p50, 20 / p99),
      ...(bp50 !== undefined && bp99 !== undefined ? { before: `p50 ${msf(bp50)}, p99 ${msf(bp99)}` } : {}),
    });
  }

  if (has('sizeGrowth', 'sizeFirstBytes', 'sizeLastBytes')) {
    const cycles = r.size!.length;
    add({
      target: `table + index size after ${cycles} cycles of writing, delivering, retaining within 20% of after the 1st`,
      measured:
        `${mib(f.sizeLastBytes!)} vs ${mib(f.sizeFirstBytes!)} = ${times(f.sizeGrowth!)}` +
        (r.size!.every((c) => c.retained) ? '' : ' (retention did not finish in every cycle: see the size table)'),
      score: 1.2 / f.sizeGrowth!,
      ...(b.sizeGrowth === undefined ? {} : { before: times(b.sizeGrowth) }),
    });
  }
  return checks;
}

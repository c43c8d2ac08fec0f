import type pg from 'pg';
import { measureQuietly } from '../support/machine-load.js';
import { monotonicUs, sleep } from '../support/monotonic.js';
import { tell, WorkerProcess, type Message } from '../support/worker-process.js';
import { contenderFor } from './contenders/contenders.js';
import type { DrainContender } from './contenders/contender.interface.js';
import { walBytesSince, walLsn } from './flowbus-schema.js';
import type { DrainConfig } from './plan.js';

/** One measured drain. */
export interface DrainRound {
  readonly rowsPerSec: number;
  readonly seconds: number;
  /** Handler calls beyond the backlog (a job handled twice); 0 expected. */
  readonly duplicates: number;
  /** CPU time of the consumer processes (all threads) per job, µs. */
  readonly cpuUsPerJob: number;
  /** Cores used by other processes on the machine meanwhile (undefined off Linux). */
  readonly othersCores?: number;
  /** Rounds run to get a quiet one (see `measureQuietly`). */
  readonly attempts: number;
  /**
   * WAL the server wrote from the seeding commit to the end of the round, per job
   * (`pg_wal_lsn_diff` of `pg_current_wal_lsn()` read around the drain).
   */
  readonly walBytesPerJob: number;
}

interface Progress extends Message {
  readonly handled: number;
  /** Monotonic µs of the first handler call of the round; 0 before it. */
  readonly firstAt: number;
  /** CPU µs the process used since the round was reset (in `paused` only). */
  readonly cpuUs?: number;
}

interface Settled extends Message {
  /** Monotonic µs at which the consumer saw its last job acknowledged. */
  readonly at: number;
}

/** Progress messages cost the consumer a syscall each: a few per drain are enough. */
const PROGRESS_EVERY_MS = 20;
/** Share of the backlog handled after which the parent polls the database for the end. */
const POLL_FROM = 0.95;

/**
 * Parent side of one configuration in one pass: starts its consumer processes, drains a warm-up
 * backlog, then the measured one. A round runs from the first handler call (in any process) to
 * the moment the parent sees no unacknowledged job left; the handler counts reported by the
 * children tell the parent when to start looking, so the database is polled only at the end.
 */
export async function drainPass(p: {
  config: DrainConfig;
  url: string;
  db: pg.Client;
  self: string;
  execArgv: readonly string[];
  warmupRows: number;
  backlog: number;
  /** Process trees whose CPU is the measurement's (this process, the PostgreSQL server). */
  roots: () => number[];
}): Promise<DrainRound> {
  const contender = contenderFor(p.config.spec, p.url);
  await contender.prepare?.(p.db);
  const children = Array.from({ length: p.config.processes }, (_, i) =>
    WorkerProcess.start(p.self, {
      args: ['--child', JSON.stringify({ kind: 'drain', config: p.config })],
      execArgv: p.execArgv,
      name: `${p.config.id}#${i + 1}`,
    }),
  );
  try {
    await Promise.all(children.map((c) => c.next('ready')));
    await round(contender, children, p.db, p.warmupRows);
    const m = await measureQuietly(p.roots, () => round(contender, children, p.db, p.backlog));
    return { ...m.value, othersCores: m.othersCores, attempts: m.attempts };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await contender.dispose?.();
  }
}

async function round(
  contender: DrainContender,
  children: WorkerProcess[],
  db: pg.Client,
  rows: number,
): Promise<Omit<DrainRound, 'attempts'>> {
  await Promise.all(children.map((c) => c.ask({ type: 'reset' }, 'reset-ok')));
  await contender.reset(db);
  await contender.seed(db, rows);
  const lsn = await walLsn(db);
  await Promise.all(children.map((c) => c.ask({ type: 'go' }, 'go-ok')));
  const handled = () => children.reduce((n, c) => n + (c.latest<Progress>('progress')?.handled ?? 0), 0);
  const deadline = Date.now() + 180_000;
  while (handled() < rows * POLL_FROM) {
    if (Date.now() > deadline) throw new Error(`drain stalled: ${handled()} of ${rows} handled`);
    await sleep(2);
  }
  let end: number;
  if (contender.remaining) {
    // Nearly done: look for the last acknowledgement in the database, round trip after round trip.
    while ((await contender.remaining(db)) > 0) {
      if (Date.now() > deadline) throw new Error(`drain stalled: ${handled()} of ${rows} handled`);
    }
    end = monotonicUs();
  } else {
    // The library's tables are its own: each consumer says when all it took is acknowledged.
    const settled = await Promise.all(children.map((c) => c.ask<Settled>({ type: 'settle' }, 'settled', 180_000)));
    end = Math.max(...settled.map((s) => s.at));
  }
  const walBytes = await walBytesSince(db, lsn);
  const finals = await Promise.all(children.map((c) => c.ask<Progress>({ type: 'pause' }, 'paused')));
  const start = Math.min(...finals.filter((f) => f.firstAt > 0).map((f) => f.firstAt));
  const seconds = (end - start) / 1e6;
  const total = finals.reduce((n, f) => n + f.handled, 0);
  const cpuUs = finals.reduce((n, f) => n + (f.cpuUs ?? 0), 0);
  return {
    rowsPerSec: rows / seconds,
    seconds,
    duplicates: total - rows,
    cpuUsPerJob: cpuUs / rows,
    walBytesPerJob: walBytes / rows,
  };
}

/** Child side: one consumer process of a drain configuration. */
export async function drainChild(config: DrainConfig, url: string): Promise<(m: Message) => Promise<void>> {
  let handled = 0;
  let firstAt = 0;
  let reported = -1;
  let cpuAtReset = process.cpuUsage();
  const consumer = await contenderFor(config.spec, url).startConsumer(url, () => {
    if (handled++ === 0) firstAt = monotonicUs();
  });
  const report = (type: string, extra: object = {}) => {
    reported = handled;
    tell({ type, handled, firstAt, ...extra });
  };
  setInterval(() => {
    if (handled !== reported) report('progress');
  }, PROGRESS_EVERY_MS).unref();
  tell({ type: 'ready' });
  return async (m) => {
    switch (m.type) {
      case 'reset':
        handled = 0;
        firstAt = 0;
        cpuAtReset = process.cpuUsage();
        report('progress');
        tell({ type: 'reset-ok' });
        return;
      case 'settle':
        if (!consumer.settle) throw new Error(`${config.id}: its consumer cannot settle`);
        tell({ type: 'settled', at: await consumer.settle() });
        return;
      case 'go':
        await consumer.go();
        tell({ type: 'go-ok' });
        return;
      case 'pause':
        await consumer.pause();
        {
          const cpu = process.cpuUsage(cpuAtReset);
          report('paused', { cpuUs: cpu.user + cpu.system });
        }
        return;
      case 'stop':
        await consumer.close();
        return;
    }
  };
}

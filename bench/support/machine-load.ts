import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';

/*
 * How busy the machine is, and how much of that is not the bench: on a shared 2-core box a
 * neighbour's test run halves any throughput figure. Linux only (/proc); elsewhere every
 * function answers `undefined` and nothing waits.
 */

const TICKS_PER_SECOND = 100; // USER_HZ, the unit of /proc/<pid>/stat times on Linux

/** Busy and total jiffies of the whole machine since boot. */
export interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

export async function machineTicks(): Promise<MachineTicks | undefined> {
  try {
    const stat = await readFile('/proc/stat', 'utf8');
    const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    // Busy: everything but idle and iowait (steal counts: a neighbour VM on the core hurts too).
    return { busy: total - fields[3]! - fields[4]!, total };
  } catch {
    return undefined;
  }
}

/** Cores busy on average between two readings. */
export function busyCores(from: MachineTicks, to: MachineTicks): number {
  const total = to.total - from.total;
  return total > 0 ? ((to.busy - from.busy) / total) * cpus().length : 0;
}

interface ProcStat {
  readonly ppid: number;
  /** utime + stime + cutime + cstime: the process and its reaped children. */
  readonly cpuSeconds: number;
}

async function procStats(): Promise<Map<number, ProcStat>> {
  const out = new Map<number, ProcStat>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      out.set(Number(entry), { ppid: Number(f[1]), cpuSeconds: ticks / TICKS_PER_SECOND });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * CPU seconds used so far by `roots` and every live descendant. A process that exits is counted
 * in its parent's reaped-children times from then on, so the sum only grows.
 */
export async function treeCpuSeconds(roots: readonly number[]): Promise<number> {
  const stats = await procStats();
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let total = 0;
  const seen = new Set<number>();
  const visit = (pid: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    total += stats.get(pid)?.cpuSeconds ?? 0;
    for (const c of children.get(pid) ?? []) visit(c);
  };
  for (const r of roots) visit(r);
  return total;
}

/** Pid of the PostgreSQL server behind `db` when it runs on this machine, else undefined. */
export async function postmasterPid(db: pg.Client): Promise<number | undefined> {
  try {
    const { rows } = await db.query<{ dir: string }>('SELECT current_setting($1) AS dir', ['data_directory']);
    const pid = Number((await readFile(join(rows[0]!.dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits, up to `maxWaitMs`, until the machine uses less than `maxCores` (sampled over
 * `sampleMs`). Returns the cores last seen busy, or undefined off Linux.
 */
export async function waitForQuiet(maxWaitMs: number, maxCores: number, sampleMs = 200): Promise<number | undefined> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = await machineTicks();
    if (!before) return undefined;
    await new Promise((r) => setTimeout(r, sampleMs));
    const cores = busyCores(before, (await machineTicks())!);
    if (cores < maxCores || Date.now() >= deadline) return cores;
  }
}

/** Quiet-machine policy of a measurement. */
export interface QuietPolicy {
  /** Wait before each attempt until the machine uses less than this many cores... */
  readonly quietCores: number;
  /** ...but no longer than this. */
  readonly maxWaitMs: number;
  /** An attempt during which others used more than this (cores, on average) is repeated... */
  readonly noisyCores: number;
  /** ...up to this many attempts in all; the quietest is kept. */
  readonly maxAttempts: number;
}

export const DEFAULT_QUIET: QuietPolicy = { quietCores: 0.3, maxWaitMs: 15_000, noisyCores: 0.25, maxAttempts: 3 };

/**
 * Time this process may still spend waiting for quiet or repeating noisy attempts, over all
 * measurements, so a machine that stays busy makes a bench noisier, not endless.
 */
let patienceMs = 180_000;

/** Sets the time left for waiting and repeating (a quick run should not wait minutes). */
export function setPatience(ms: number): void {
  patienceMs = ms;
}

/** How `measureQuietly` treats a shared machine, for the method line of a report. */
export const QUIET_METHOD =
  `Shared machine: before each measured round the bench waits (up to ${DEFAULT_QUIET.maxWaitMs / 1000} s) until ` +
  `fewer than ${DEFAULT_QUIET.quietCores} cores are busy, then measures the cores used meanwhile by processes that ` +
  "are neither the bench's nor its PostgreSQL server's (\"others' load\"); a round during which others used more " +
  `than ${DEFAULT_QUIET.noisyCores} cores is repeated, up to ${DEFAULT_QUIET.maxAttempts} tries, keeping the ` +
  'quietest (at most 3 minutes of waiting and repeating per bench).';

/** A measurement and the load others put on the machine while it ran. */
export interface Measured<T> {
  readonly value: T;
  /** Cores used by processes that are neither the bench's nor its PostgreSQL server's. */
  readonly othersCores: number | undefined;
  readonly attempts: number;
}

/**
 * Runs `attempt` on a quiet machine if it gets one: waits for quiet first, measures the cores
 * other processes (not this process tree, not the PostgreSQL server tree) use meanwhile, and
 * repeats a noisy attempt. On a machine without /proc it runs once.
 */
export async function measureQuietly<T>(
  roots: () => number[],
  attempt: () => Promise<T>,
  policy: QuietPolicy = DEFAULT_QUIET,
): Promise<Measured<T>> {
  let best: Measured<T> | undefined;
  for (let n = 1; n <= policy.maxAttempts; n++) {
    const waitStarted = Date.now();
    if (patienceMs > 0) await waitForQuiet(Math.min(policy.maxWaitMs, patienceMs), policy.quietCores);
    patienceMs -= Date.now() - waitStarted;
    const ticks = await machineTicks();
    const cpu = await treeCpuSeconds(roots());
    const started = performance.now();
    const value = await attempt();
    const seconds = (performance.now() - started) / 1000;
    if (n > 1) patienceMs -= seconds * 1000;
    const end = await machineTicks();
    const others =
      ticks && end ? Math.max(0, busyCores(ticks, end) - ((await treeCpuSeconds(roots())) - cpu) / seconds) : undefined;
    if (!best || (others ?? 0) < (best.othersCores ?? 0)) best = { value, othersCores: others, attempts: n };
    else best = { ...best, attempts: n };
    if (others === undefined || others <= policy.noisyCores || patienceMs <= 0) break;
  }
  return best!;
}

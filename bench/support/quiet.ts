import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** CPU time of the whole machine since boot, from /proc/stat (Linux only). */
export interface CpuSnapshot {
  readonly busy: number;
  readonly total: number;
}

/**
 * Average number of cores busy between two snapshots. Busy is everything but idle and iowait;
 * steal time counts, since a neighbour VM taking the core hurts a measurement just as much.
 */
export function busyCores(from: CpuSnapshot, to: CpuSnapshot): number {
  const total = to.total - from.total;
  return total > 0 ? ((to.busy - from.busy) / total) * cpus().length : 0;
}

export async function cpuSnapshot(): Promise<CpuSnapshot | undefined> {
  let stat: string;
  try {
    stat = await readFile('/proc/stat', 'utf8');
  } catch {
    return undefined; // not Linux: no load figures, nothing waits
  }
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/**
 * Waits, up to `maxWaitMs`, until other work uses less than `maxCores`: on a shared 2-core box a
 * neighbour's test run halves every figure. Returns the cores last seen busy (undefined without
 * /proc/stat).
 */
export async function waitForQuiet(maxWaitMs: number, maxCores: number, sampleMs = 150): Promise<number | undefined> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = await cpuSnapshot();
    if (!before) return undefined;
    await sleep(sampleMs);
    const cores = busyCores(before, (await cpuSnapshot())!);
    if (cores < maxCores || Date.now() >= deadline) return cores;
  }
}

import { cpus, loadavg, release, totalmem, type } from 'node:os';

/** One line describing where the figures were measured. */
export function describeMachine(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  const memory = `${Math.round(totalmem() / 2 ** 30)} GiB`;
  const os = `${type()} ${release()}`;
  const node = `Node ${process.version}`;
  return `${cpu.length} cores (nproc ${cpu.length}, ${model}), ${memory}, ${os}, ${node}, ${describeLoad()} at start`;
}

/** The 1, 5 and 15 minute load averages: anything near the core count means a shared, busy box. */
export function describeLoad(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

import { fork as forkProcess } from 'node:child_process';
import { busyCores, cpuSnapshot } from './quiet.js';

/** How to start one measuring child. */
export interface ChildOptions {
  readonly args: readonly string[];
  readonly execArgv?: readonly string[];
  readonly timeoutMs: number;
}

/** What a child measured, and how busy the rest of the machine was meanwhile. */
export interface ChildOutcome<T> {
  readonly result: T;
  /** Cores used by other work while the child ran, on average (undefined off Linux). */
  readonly otherCores: number | undefined;
}

interface ChildMessage {
  readonly result: unknown;
  readonly cpuSeconds: number;
}

/**
 * Runs `file` in a fresh Node process and resolves with the result it sends with
 * `sendToParent`. Every configuration gets its own process so JIT state, heap and timers of one
 * never leak into another.
 */
export async function runChild<T>(file: string, options: ChildOptions): Promise<ChildOutcome<T>> {
  const before = await cpuSnapshot();
  const started = performance.now();
  const message = await exchange(file, options);
  const seconds = (performance.now() - started) / 1000;
  const after = await cpuSnapshot();
  // The machine's busy cores minus the child's own (its GC and compiler threads included).
  const otherCores = before && after ? Math.max(0, busyCores(before, after) - message.cpuSeconds / seconds) : undefined;
  return { result: message.result as T, otherCores };
}

/** In a child: hands the result to `runChild` in the parent, with the CPU time spent. */
export function sendToParent(result: unknown): void {
  const { user, system } = process.cpuUsage();
  const message: ChildMessage = { result, cpuSeconds: (user + system) / 1e6 };
  process.send!(message);
  process.disconnect();
}

function exchange(file: string, options: ChildOptions): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const child = forkProcess(file, options.args, { execArgv: [...(options.execArgv ?? [])], stdio: 'inherit' });
    let message: ChildMessage | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.args.join(' ')} did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.on('message', (m) => (message ??= m as ChildMessage));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (message && code === 0) resolve(message);
      else reject(new Error(`child ${options.args.join(' ')} exited with ${signal ?? code} without a result`));
    });
  });
}

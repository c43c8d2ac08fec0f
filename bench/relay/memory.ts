import { monotonicUs } from '../support/monotonic.js';
import { startFlowbusApp } from '../support/flowbus-app.js';
import { tell, type Message } from '../support/worker-process.js';
import { noopDestination } from './noop-destination.js';

export const RSS_SCHEMA = 'bench_relay_rss';
const SAMPLE_EVERY_MS = 100;

/** RSS and heap samples of the relay process while it drains a large backlog. */
export interface MemorySamples extends Message {
  readonly rssMiB: number[];
  readonly heapMiB: number[];
  readonly rowsPerSec: number;
}

/**
 * Child: a relay app (the library's default relay settings, on a schema the parent dropped first) that samples its own memory every 100 ms from the moment
 * `warmupRows` of a drain were delivered until all `rows` were, then reports. Every `wait` message
 * measures one more drain of `rows` in the same process (the parent seeds each backlog), so the
 * second one shows the relay after V8 has sized its heap for this load. With `collect` (the
 * process runs with --expose-gc) a full garbage collection precedes every sample, so the samples
 * show what is live rather than what V8 has not collected yet.
 */
export async function memoryChild(url: string, rows: number, warmupRows: number, collect: boolean) {
  const gc = collect ? (globalThis as { gc?: () => void }).gc : undefined;
  if (collect && !gc) throw new Error('memoryChild: collect needs node --expose-gc');
  let delivered = 0;
  let firstAt = 0;
  let rssMiB: number[] = [];
  let heapMiB: number[] = [];
  let done: () => void = () => undefined;
  let finished = new Promise<void>((resolve) => (done = resolve));
  const flowbus = await startFlowbusApp({
    databaseUrl: url,
    options: {
      schema: RSS_SCHEMA,
      destinations: {
        noop: noopDestination(() => {
          if (delivered++ === 0) firstAt = monotonicUs();
          if (delivered === rows) done();
        }),
      },
      timeouts: { enabled: false },
    },
  });
  const sampler = setInterval(() => {
    if (delivered < warmupRows || delivered >= rows) return;
    gc?.();
    const m = process.memoryUsage();
    rssMiB.push(m.rss / 2 ** 20);
    heapMiB.push(m.heapUsed / 2 ** 20);
  }, SAMPLE_EVERY_MS);
  tell({ type: 'ready' });
  return async (m: Message) => {
    if (m.type === 'wait') {
      await finished;
      const rowsPerSec = rows / ((monotonicUs() - firstAt) / 1e6);
      tell({ type: 'samples', rssMiB, heapMiB, rowsPerSec });
      delivered = 0;
      rssMiB = [];
      heapMiB = [];
      finished = new Promise<void>((resolve) => (done = resolve));
    } else if (m.type === 'stop') {
      clearInterval(sampler);
      await flowbus.close();
    }
  };
}

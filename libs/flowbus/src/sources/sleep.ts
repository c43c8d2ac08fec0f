/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Delay before reconnect or retry attempt `n` (1-based): 100 ms doubling up to 5 s. */
export function retryDelay(n: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(n - 1, 10));
}

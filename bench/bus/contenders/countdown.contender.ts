import { bodyOf, syncBody, type BenchEvent } from '../workload.js';
import type { Contender, Setup } from './contender.interface.js';

type Handler = (event: BenchEvent) => unknown;

/**
 * A hand-written awaitable publish over a `Map` of handler arrays: try/catch around each
 * handler, a countdown over the promises they return, one promise per publish. The reference for
 * what an isolating, awaitable publish costs without any framework around it.
 */
export function countdown(setup: Setup): Contender {
  const routes = new Map<string, Handler[]>();
  const body = bodyOf(setup.kind);
  routes.set(
    'BenchEvent',
    Array.from({ length: setup.handlers }, () => (event: BenchEvent) => body(event)),
  );
  for (let i = 0; i < setup.unrelated; i++) routes.set(`OtherEvent${i}`, [(event: BenchEvent) => syncBody(event)]);
  return {
    awaitable: true,
    publish: (event) => publish(routes.get(event.constructor.name) ?? [], event),
    close: async () => undefined,
  };
}

function publish(handlers: Handler[], event: BenchEvent): Promise<number> {
  let failed = 0;
  let pending = 0;
  let resolve: ((failed: number) => void) | undefined;
  const ok = () => {
    if (--pending === 0 && resolve) resolve(failed);
  };
  const fail = () => {
    failed++;
    ok();
  };
  for (let i = 0; i < handlers.length; i++) {
    try {
      const result = handlers[i]!(event) as Promise<unknown> | undefined;
      if (result && typeof result.then === 'function') {
        pending++;
        result.then(ok, fail);
      }
    } catch {
      failed++;
    }
  }
  if (pending === 0) return Promise.resolve(failed);
  return new Promise((r) => (resolve = r));
}

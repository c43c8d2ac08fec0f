/**
 * Every class that carries a Flowbus decorator (`@HandleEvent`, `@Saga`, `@SagaStep`,
 * `@OnTimeout`), recorded when the decorator is applied, i.e. when its file is imported. The
 * explorers compare it with the providers they found: a decorated class that is not registered in
 * any module's `providers` is never discovered, and its events would go nowhere without a word.
 */
const decorated = new Map<abstract new (...args: never[]) => unknown, string>();

/**
 * Records `target` as carrying `decorator`, which names it in the warning: `@Saga` when it has
 * one (class decorators run after the method decorators), else the first one recorded.
 */
export function recordDecoratedClass(target: unknown, decorator: string): void {
  if (typeof target !== 'function') return;
  const cls = target as abstract new (...args: never[]) => unknown;
  if (!decorated.has(cls) || decorator === '@Saga') decorated.set(cls, decorator);
}

/** The decorated classes recorded so far, with the decorator that marked each. */
export function decoratedClasses(): ReadonlyMap<abstract new (...args: never[]) => unknown, string> {
  return decorated;
}

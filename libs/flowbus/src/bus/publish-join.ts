import type { Logger } from '@nestjs/common';
import { HandlerFailuresError, describeError } from '../errors/handler-failures.error.js';
import { HandlerTimeoutError } from '../errors/handler-timeout.error.js';
import type { EventRoute } from './handler-registry.js';
import type { HandlerFailure, PublishResult } from './publish-result.interface.js';

/** What a publish needs from the bus: its failure policy and its logger. */
export interface FailurePolicy {
  readonly propagate: boolean;
  readonly log: boolean;
  readonly timeoutMs: number | undefined;
  readonly logger: Logger;
}

const PENDING = 1;
const SETTLED = 2;

/**
 * Waits for the asynchronous handlers of one publish with a countdown instead of
 * `Promise.allSettled`: one promise per publish and no per-handler result objects unless a
 * handler fails. Created only when a handler returned a thenable.
 */
export class PublishJoin {
  private pending = 0;
  private finished = false;
  private failures: HandlerFailure[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Per handler: 0 not tracked (finished synchronously), PENDING, SETTLED. Only with a timeout. */
  private readonly states: Uint8Array | undefined;
  private resolve!: (result: PublishResult) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly route: EventRoute,
    private readonly policy: FailurePolicy,
  ) {
    if (policy.timeoutMs !== undefined) this.states = new Uint8Array(route.handlers.length);
  }

  /** Tracks the thenable handler `index` returned. */
  track(index: number, result: PromiseLike<unknown>): void {
    if (this.states) {
      result.then(
        () => this.settle(index),
        (error: unknown) => this.settle(index, error, true),
      );
      this.states[index] = PENDING;
    } else {
      result.then(this.ok, (error: unknown) => this.settle(index, error, true));
    }
    this.pending++;
  }

  /** Called once every handler was started, with the synchronous failures seen meanwhile. */
  started(failures: HandlerFailure[] | undefined): Promise<PublishResult> {
    this.failures = failures;
    const promise = new Promise<PublishResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (this.policy.timeoutMs !== undefined) this.timer = setTimeout(this.expire, this.policy.timeoutMs);
    return promise;
  }

  private readonly ok = (): void => {
    if (--this.pending === 0) this.finish();
  };

  private settle(index: number, error?: unknown, failed = false): void {
    if (this.finished) {
      // Settled after its timeout was reported: nothing waits for it, but a late failure is news.
      if (failed && this.policy.log) {
        this.policy.logger.warn(
          `Handler ${this.route.handlers[index]!.name} failed after its timeout for event ${this.route.eventType}: ${describeError(error)}`,
        );
      }
      return;
    }
    if (this.states) this.states[index] = SETTLED;
    if (failed) this.failures = recordFailure(this.policy, this.failures, this.route, index, error, false);
    if (--this.pending === 0) this.finish();
  }

  private readonly expire = (): void => {
    if (this.finished) return;
    for (let i = 0; i < this.states!.length; i++) {
      if (this.states![i] !== PENDING) continue;
      const error = new HandlerTimeoutError(this.route.handlers[i]!.name, this.route.eventType, this.policy.timeoutMs!);
      this.failures = recordFailure(this.policy, this.failures, this.route, i, error, true);
    }
    this.finish();
  };

  private finish(): void {
    // Settlements can only arrive after `started` ran (they are microtasks), so resolve is set.
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    settle(this.route, this.policy, this.failures, this.resolve, this.reject);
  }
}

/** Appends a failure (logging it when asked) and returns the list, created on first use. */
export function recordFailure(
  policy: FailurePolicy,
  failures: HandlerFailure[] | undefined,
  route: EventRoute,
  index: number,
  error: unknown,
  timedOut: boolean,
): HandlerFailure[] {
  const handler = route.handlers[index]!.name;
  if (policy.log) {
    const stack = error instanceof Error ? error.stack : undefined;
    policy.logger.error(`Handler ${handler} failed for event ${route.eventType}: ${describeError(error)}`, stack);
  }
  const list = failures ?? [];
  list.push({ handler, error, timedOut });
  return list;
}

/** Turns the failures of a finished publish into its result or, when propagating, its error. */
export function settle(
  route: EventRoute,
  policy: FailurePolicy,
  failures: HandlerFailure[] | undefined,
  resolve: (result: PublishResult) => void,
  reject: (error: unknown) => void,
): void {
  if (!failures) return resolve(route.allSucceeded);
  if (policy.propagate) return reject(new HandlerFailuresError(route.eventType, failures));
  const n = route.handlers.length;
  resolve({ eventType: route.eventType, handlers: n, succeeded: n - failures.length, failures });
}

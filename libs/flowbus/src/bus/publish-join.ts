import type { Logger } from '@nestjs/common';
import { HandlerFailuresError, describeError } from '../errors/handler-failures.error.js';
import { HandlerTimeoutError } from '../errors/handler-timeout.error.js';
import type { DeadlineEntry, HandlerDeadlines } from './handler-deadlines.js';
import { RecordedHandlerFailure } from './handler-failure.js';
import type { EventRoute } from './handler-registry.js';
import type { HandlerFailure, PublishResult } from './publish-result.interface.js';

/** What a publish needs from the bus: its failure policy and its logger. */
export interface FailurePolicy {
  readonly propagate: boolean;
  readonly log: boolean;
  readonly timeoutMs: number | undefined;
  /** Set when `timeoutMs` is. */
  readonly deadlines: HandlerDeadlines | undefined;
  readonly logger: Logger;
  /** Counts a failure (metrics). */
  readonly failed: (eventType: string, handler: string) => void;
}

/** Handlers whose running state fits in the bits of a small integer. */
const BITS = 31;

/**
 * Waits for the asynchronous handlers of one publish with a countdown instead of
 * `Promise.allSettled`: one promise per publish and no per-handler result objects unless a
 * handler fails. Created only when a handler returned a thenable.
 */
export class PublishJoin implements DeadlineEntry {
  deadline = 0;
  listed = false;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  private pending = 0;
  private finished = false;
  private failures: HandlerFailure[] | undefined;
  /**
   * With a timeout only, which tracked handlers have not settled yet: bit i for handler i, an
   * array beyond the first 31 handlers (rare, so a typed array is not allocated per publish).
   */
  private running = 0;
  private runningBeyond: Uint8Array | undefined;
  private resolve!: (result: PublishResult) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly route: EventRoute,
    private readonly policy: FailurePolicy,
  ) {}

  /** Tracks the thenable handler `index` returned. */
  track(index: number, result: PromiseLike<unknown>): void {
    if (this.policy.deadlines) {
      result.then(
        () => this.settle(index),
        (error: unknown) => this.settle(index, error, true),
      );
      this.setRunning(index, true);
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
    this.policy.deadlines?.watch(this);
    return promise;
  }

  /** The timeout passed: every handler still running fails with a `HandlerTimeoutError`. */
  onDeadline(): void {
    if (this.finished) return;
    for (let i = 0; i < this.route.handlers.length; i++) {
      if (!this.isRunning(i)) continue;
      const error = new HandlerTimeoutError(this.route.handlers[i]!.name, this.route.eventType, this.policy.timeoutMs!);
      this.failures = recordFailure(this.policy, this.failures, this.route, i, error, true);
    }
    this.finish();
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
    if (this.policy.deadlines) this.setRunning(index, false);
    if (failed) this.failures = recordFailure(this.policy, this.failures, this.route, index, error, false);
    if (--this.pending === 0) this.finish();
  }

  private setRunning(index: number, running: boolean): void {
    if (index < BITS) {
      this.running = running ? this.running | (1 << index) : this.running & ~(1 << index);
    } else {
      (this.runningBeyond ??= new Uint8Array(this.route.handlers.length))[index] = running ? 1 : 0;
    }
  }

  private isRunning(index: number): boolean {
    return index < BITS ? (this.running & (1 << index)) !== 0 : this.runningBeyond?.[index] === 1;
  }

  private finish(): void {
    // Settlements can only arrive after `started` ran (they are microtasks), so resolve is set.
    this.finished = true;
    if (this.listed) this.policy.deadlines!.release(this);
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
  policy.failed(route.eventType, handler);
  if (policy.log) {
    const stack = error instanceof Error ? error.stack : undefined;
    policy.logger.error(`Handler ${handler} failed for event ${route.eventType}: ${describeError(error)}`, stack);
  }
  const list = failures ?? [];
  list.push(new RecordedHandlerFailure(handler, error, timedOut));
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

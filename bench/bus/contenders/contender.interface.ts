import type { BenchEvent, HandlerKind } from '../workload.js';

/** One way of delivering an event to its handlers, set up for one configuration. */
export interface Contender {
  /** True when `publish` returns a promise that settles after every handler finished. */
  readonly awaitable: boolean;
  publish(event: BenchEvent): unknown;
  close(): Promise<void>;
}

/** What a contender is built for. */
export interface Setup {
  /** Handlers of `BenchEvent`. */
  readonly handlers: number;
  readonly kind: HandlerKind;
  /** Handlers registered for other event types (one type each), never called. */
  readonly unrelated: number;
  /** PostgreSQL URL, for the contenders that need one. */
  readonly databaseUrl: string | undefined;
}

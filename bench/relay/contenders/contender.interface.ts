import type pg from 'pg';

/** A consumer running in a child process, draining to a handler that does nothing. */
export interface Consumer {
  /** Starts taking jobs, for contenders that cannot be woken by the seeding commit. */
  go(): Promise<void>;
  /** Waits until the consumer is idle again after a round. */
  pause(): Promise<void>;
  /**
   * For contenders without `remaining`: resolves once every job this consumer took is
   * acknowledged, with the monotonic µs of that moment.
   */
  settle?(): Promise<number>;
  close(): Promise<void>;
}

/**
 * One queue implementation in the drain bench. The parent seeds and counts with its own
 * connection; the children run the consumers. Seeding commits the whole backlog at once, and
 * wakes consumers that listen for new work.
 */
export interface DrainContender {
  /** Parent, before the consumers of a pass start: a clean slate (e.g. a dropped schema). */
  prepare?(db: pg.Client): Promise<void>;
  /** Parent: empties the queue's tables (consumers are up and idle). */
  reset(db: pg.Client): Promise<void>;
  /** Parent: writes `n` jobs in one transaction, with fresh planner statistics. */
  seed(db: pg.Client, n: number): Promise<void>;
  /**
   * Parent: jobs not yet acknowledged. Without it the round ends when every consumer's `settle`
   * resolved (the library's own tables are not read by the bench).
   */
  remaining?(db: pg.Client): Promise<number>;
  /** Parent: releases what `seed` opened. */
  dispose?(): Promise<void>;
  /** Child: starts a consumer that calls `handled` once per job. */
  startConsumer(url: string, handled: () => void): Promise<Consumer>;
}

import { expect } from '@jest/globals';
import { outboxBooks, processBooks, settle, type OutboxBooks } from './books.js';
import { HttpSink } from './http-sink.js';
import { ProcessRegistry } from './processes.js';
import { ScratchPostgres } from './scratch-postgres.js';

/** What one scenario runs on: its own PostgreSQL, an HTTP sink and its fixture processes. */
export interface Stage {
  readonly pg: ScratchPostgres;
  readonly databaseUrl: string;
  readonly sink: HttpSink;
  readonly processes: ProcessRegistry;
}

export async function openStage(name: string): Promise<Stage> {
  const pg = await ScratchPostgres.start();
  const databaseUrl = await pg.createDatabase(name);
  const sink = new HttpSink();
  await sink.start();
  return { pg, databaseUrl, sink, processes: new ProcessRegistry() };
}

/** Stops every process still running, the sink and the server (whatever state they are in). */
export async function closeStage(stage: Stage | undefined): Promise<void> {
  if (!stage) return;
  await stage.processes.stopAll().catch(() => undefined);
  await stage.sink.stop().catch(() => undefined);
  await stage.pg.stop();
}

export interface ClosedBooks extends OutboxBooks {
  settled: boolean;
  settleMs: number;
  /** Processes that died on their own (they fail the scenario), with their last output. */
  unexpectedDeaths: string[];
}

/**
 * Waits until nothing is pending (or no relay is left alive, or `settleTimeoutMs`), then balances
 * the books of an outbox scenario.
 */
export async function closeBooks(stage: Stage, rows: number, settleTimeoutMs: number): Promise<ClosedBooks> {
  const noRelayLeft = () => !stage.processes.all.some((p) => p.alive && p.name.startsWith('relay'));
  const { settled, settleMs } = await settle(stage.databaseUrl, settleTimeoutMs, noRelayLeft);
  const books = await outboxBooks(stage.databaseUrl, stage.sink, rows);
  const unexpectedDeaths = stage.processes.unexpectedDeaths().map((d) => d.split('\n').slice(0, 4).join(' | '));
  return { ...books, settled, settleMs, unexpectedDeaths };
}

/** The assertions every outbox scenario shares (after its own figures are recorded). */
export function expectBalancedBooks(stage: Stage, books: OutboxBooks): void {
  expect(processBooks(stage.processes)).toEqual({ unexpectedDeaths: [], tripped: [] });
  expect({
    lost: books.lost,
    lostSample: books.lostSample,
    pending: books.pending,
    leased: books.leased,
    deadWithoutReason: books.deadWithoutReason,
    deliveredUnacked: books.deliveredUnacked,
  }).toEqual({ lost: 0, lostSample: [], pending: 0, leased: 0, deadWithoutReason: 0, deliveredUnacked: 0 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

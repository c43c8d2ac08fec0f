import type { HandlerKind } from './workload.js';

/** Handlers of the published event, their kind, and handlers registered for other event types. */
export interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly handlers: number;
  readonly kind: HandlerKind;
  readonly unrelated: number;
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 'sync-1', label: '1 sync handler', handlers: 1, kind: 'sync', unrelated: 0 },
  { id: 'sync-10', label: '10 sync handlers', handlers: 10, kind: 'sync', unrelated: 0 },
  // Each scenario with unrelated handlers right after its base, so the two run close in time.
  { id: 'async-1', label: '1 async handler', handlers: 1, kind: 'async', unrelated: 0 },
  { id: 'async-1+49', label: '1 async + 49 unrelated', handlers: 1, kind: 'async', unrelated: 49 },
  { id: 'async-10', label: '10 async handlers', handlers: 10, kind: 'async', unrelated: 0 },
  { id: 'async-10+49', label: '10 async + 49 unrelated', handlers: 10, kind: 'async', unrelated: 49 },
];

/** Events published back-to-back before awaiting them all. */
export const BURSTS = [1, 100, 1000] as const;
export type Burst = (typeof BURSTS)[number];

/** How long and how often one child measures. */
export interface Budget {
  /** Fresh processes per configuration, run in separate passes over the whole plan. */
  readonly processes: number;
  /** Rounds per process. */
  readonly rounds: number;
  readonly warmupMs: number;
  /** Time spent on each burst size in each round. */
  readonly roundMs: number;
  /** Single-event publishes timed one by one in each round. */
  readonly latencySamples: number;
}

export const FULL_BUDGET: Budget = { processes: 3, rounds: 5, warmupMs: 200, roundMs: 70, latencySamples: 2000 };
export const QUICK_BUDGET: Budget = { processes: 1, rounds: 5, warmupMs: 100, roundMs: 30, latencySamples: 1000 };

/** What one child process runs. */
export interface ChildTask {
  readonly contender: string;
  readonly scenario: string;
  readonly budget: Budget;
}

export function scenarioById(id: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.id === id);
  if (!scenario) throw new Error(`Unknown scenario ${id}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return scenario;
}

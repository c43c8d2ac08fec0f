import { summarize, type Summary } from '../support/stats.js';
import type { Round } from './measure.js';
import { BURSTS } from './plan.js';

/** The rounds of one child, reduced to medians with their ranges. */
export interface Summarized {
  readonly eventsPerSec: Record<number, Summary>;
  readonly doneP50: Summary;
  readonly doneP99: Summary;
  readonly resumedP50: Summary | undefined;
  readonly resumedP99: Summary | undefined;
  /** Every process of the configuration was disturbed by other work on the machine. */
  readonly disturbed?: boolean;
}

/** Results by scenario id, then contender id. */
export type Results = Map<string, Map<string, Summarized>>;

export function summarizeRounds(rounds: readonly Round[]): Summarized {
  const eventsPerSec: Record<number, Summary> = {};
  for (const burst of BURSTS) eventsPerSec[burst] = summarize(rounds.map((r) => r.eventsPerSec[burst]!));
  const optional = (pick: (r: Round) => number | undefined) => {
    const values = rounds.map(pick).filter((v): v is number => v !== undefined);
    return values.length ? summarize(values) : undefined;
  };
  return {
    eventsPerSec,
    doneP50: summarize(rounds.map((r) => r.doneP50)),
    doneP99: summarize(rounds.map((r) => r.doneP99)),
    resumedP50: optional((r) => r.resumedP50),
    resumedP99: optional((r) => r.resumedP99),
  };
}

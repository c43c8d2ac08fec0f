import { runChild } from '../support/child-process.js';
import { micros, rate } from '../support/format.js';
import { waitForQuiet } from '../support/quiet.js';
import type { Round } from './measure.js';
import type { Budget, ChildTask } from './plan.js';
import { summarizeRounds } from './summary.js';

/** One child process of one configuration. */
export interface ProcessRun {
  readonly rounds: Round[];
  /** Cores other work used while it ran; undefined where the OS does not say. */
  readonly otherCores: number | undefined;
}

/** Other work above this many cores during a process makes its figures unusable on 2 cores. */
export const DISTURBED_CORES = 0.3;
const QUIET_WAIT_EACH_MS = 20_000;
const QUIET_WAIT_TOTAL_MS = 60_000;
const MAX_RETRIES = 12;

export function isClean(run: ProcessRun): boolean {
  return run.otherCores === undefined || run.otherCores < DISTURBED_CORES;
}

export function taskKey(task: Pick<ChildTask, 'scenario' | 'contender'>): string {
  return `${task.scenario} ${task.contender}`;
}

/**
 * Runs every task in `budget.processes` passes, so a busy minute on a shared machine hits one
 * process of a configuration, not all of them. Before each
 * process it waits a little for the machine to calm down (capped over the run, so a long
 * neighbour job costs a minute at most), and afterwards re-runs the configurations whose every
 * process was disturbed, a few at most.
 */
export async function runPasses(
  file: string,
  tasks: readonly ChildTask[],
  budget: Budget,
  execArgv: readonly string[],
): Promise<Map<string, ProcessRun[]>> {
  const runs = new Map<string, ProcessRun[]>();
  let waitLeft = QUIET_WAIT_TOTAL_MS;
  const total = tasks.length * budget.processes;
  let n = 0;

  const runOne = async (task: ChildTask, label: string) => {
    const waitStarted = Date.now();
    await waitForQuiet(Math.min(QUIET_WAIT_EACH_MS, waitLeft), DISTURBED_CORES);
    waitLeft = Math.max(0, waitLeft - (Date.now() - waitStarted));
    const { result, otherCores } = await runChild<Round[]>(file, {
      args: ['--child', JSON.stringify(task)],
      execArgv,
      timeoutMs: 120_000,
    });
    const run: ProcessRun = { rounds: result, otherCores };
    runs.set(taskKey(task), [...(runs.get(taskKey(task)) ?? []), run]);
    const s = summarizeRounds(result);
    const rates = Object.entries(s.eventsPerSec).map(([burst, r]) => `${burst}: ${rate(r.median)}/s`);
    const load =
      otherCores === undefined
        ? ''
        : `  other work: ${otherCores.toFixed(2)} cores${isClean(run) ? '' : ' (disturbed)'}`;
    console.log(
      `[${label}] ${task.scenario.padEnd(12)} ${task.contender.padEnd(16)} ${rates.join('  ')}` +
        `  p50 ${micros(s.doneP50.median)} µs  p99 ${micros(s.doneP99.median)} µs${load}`,
    );
  };

  for (let pass = 0; pass < budget.processes; pass++) {
    // Each pass starts further along the plan, so the processes of one configuration are spread
    // evenly over the run instead of meeting at the turn of two passes.
    const shift = Math.floor((pass * tasks.length) / budget.processes);
    const order = [...tasks.slice(shift), ...tasks.slice(0, shift)];
    for (const task of order) await runOne(task, `${++n}/${total}`);
  }
  const unclean = tasks.filter((t) => !runs.get(taskKey(t))!.some(isClean)).slice(0, MAX_RETRIES);
  for (const [i, task] of unclean.entries()) await runOne(task, `retry ${i + 1}/${unclean.length}`);
  return runs;
}

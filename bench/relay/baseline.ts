import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { RelayResults } from './sections.js';
import { keyFigures, type KeyFigures } from './targets.js';

/**
 * The figures recorded for the 0.1 table design (`--record-baseline`), which later runs compare
 * with: the publish target is a multiple of the 0.1 producer rate, and every target line shows the
 * 0.1 figure next to the measured one. Lives next to the sources (bench/relay/), not in bench/out.
 */
export interface Baseline {
  readonly design: string;
  readonly date: string;
  readonly command: string;
  readonly quick: boolean;
  readonly figures: KeyFigures;
}

// Compiled to bench/out/relay/baseline.js: the source folder is two levels up, then relay/.
export const BASELINE_FILE = fileURLToPath(new URL('../../relay/baseline-0.1.json', import.meta.url));

export async function writeBaseline(
  r: RelayResults,
  run: { date: string; command: string; quick: boolean },
): Promise<void> {
  const baseline: Baseline = {
    design: '0.1 table design (flowbus_outbox rows claimed and marked delivered in place)',
    ...run,
    figures: keyFigures(r),
  };
  await writeFile(BASELINE_FILE, `${JSON.stringify(baseline, null, 2)}\n`);
}

export async function readBaseline(): Promise<Baseline | undefined> {
  if (!existsSync(BASELINE_FILE)) return undefined;
  return JSON.parse(await readFile(BASELINE_FILE, 'utf8')) as Baseline;
}

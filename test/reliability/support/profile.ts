import { mkdirSync, writeFileSync } from 'node:fs';

/**
 * Scenario sizes: `short` (the default, run by `npm test`: small enough for CI) or `full`
 * (`npm run test:reliability`, the numbers of issue 11). Set FLOWBUS_RELIABILITY_PROFILE.
 */
export type Profile = 'short' | 'full';

export const PROFILE: Profile = process.env.FLOWBUS_RELIABILITY_PROFILE === 'full' ? 'full' : 'short';

/** The short or the full value. */
export function sized<T>(short: T, full: T): T {
  return PROFILE === 'full' ? full : short;
}

/**
 * Prints a scenario's figures and keeps them as JSON in test/reliability/out/<profile>/ (ignored by
 * git), from which bench/RELIABILITY.md is written after a full run.
 */
export function record(scenario: string, figures: Record<string, unknown>): void {
  const dir = new URL(`../out/${PROFILE}/`, import.meta.url);
  mkdirSync(dir, { recursive: true });
  const payload = { scenario, profile: PROFILE, at: new Date().toISOString(), ...figures };
  writeFileSync(new URL(`${scenario}.json`, dir), `${JSON.stringify(payload, null, 2)}\n`);
  process.stdout.write(`\n[reliability ${PROFILE}] ${scenario}: ${JSON.stringify(figures)}\n`);
}

// Loaded by Jest before the scenarios run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The fixture apps import `nestjs-flowbus` as users do, from the built package. */
export default async function globalSetup(globalConfig: { rootDir: string }): Promise<void> {
  if (!existsSync(join(globalConfig.rootDir, 'libs/flowbus/dist/index.js'))) {
    throw new Error('The reliability suite runs the built library (libs/flowbus/dist): run `npm run build` first.');
  }
}

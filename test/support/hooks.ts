import { afterEach } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';

// Jest hooks for spec files. Kept apart from app.ts, which the reliability fixture processes load
// outside Jest (where '@jest/globals' cannot be imported).

/**
 * A list of apps that an `afterEach` (registered here) empties, closing the apps one after the
 * other in the order they were pushed. Push every app a test starts; a test may close one itself
 * and take it off the list first.
 */
export function closeAppsAfterEach(): INestApplication[] {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  return apps;
}

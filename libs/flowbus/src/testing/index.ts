// Helpers for tests of apps that use Flowbus: `import { ... } from 'nestjs-flowbus/testing'`.
export { drainOutbox } from './drain-outbox.js';
export { startEmbeddedPostgres } from './embedded-postgres.js';
export type { EmbeddedPostgresOptions, EmbeddedPostgresServer } from './embedded-postgres.js';
export { ManualClock } from './manual-clock.js';
export { waitFor } from './wait-for.js';

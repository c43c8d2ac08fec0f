// Loaded by Jest through require(), outside the ESM module mapper: hence the .ts suffix.
import { startEmbeddedPostgres } from '../../libs/flowbus/src/testing/embedded-postgres.ts';

/**
 * Gives every test worker a PostgreSQL server URL in FLOWBUS_TEST_SERVER_URL: DATABASE_URL when
 * set, else an embedded server started here (stopped in global-teardown).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.FLOWBUS_TEST_SERVER_URL = process.env.DATABASE_URL;
    return;
  }
  const started = Date.now();
  const server = await startEmbeddedPostgres();
  (globalThis as { __flowbusPg?: unknown }).__flowbusPg = server;
  process.env.FLOWBUS_TEST_SERVER_URL = server.url;
  process.stdout.write(`\nEmbedded PostgreSQL on port ${server.port} (started in ${Date.now() - started} ms)\n`);
}

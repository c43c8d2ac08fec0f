import { afterAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from 'nestjs-flowbus/testing';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * The embedded server's durability settings: a data dir kept across runs (the demo's `.data/pg`)
 * gets PostgreSQL's safe defaults; a temporary one trades them for speed.
 */

const servers: EmbeddedPostgresServer[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const server of servers.splice(0)) await server.stop();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function settings(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL durability', () => {
  it('keeps the safe defaults for a persistent data dir, also across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowbus-pg-kept-'));
    dirs.push(dir);
    await chmod(dir, 0o755); // the server runs as the `postgres` user when the tests run as root
    const dataDir = join(dir, 'pg');
    for (let run = 0; run < 2; run++) {
      const server = await startEmbeddedPostgres({ dataDir });
      servers.push(server);
      expect(await settings(server.url)).toEqual({ fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' });
      await servers.pop()!.stop();
    }
  });

  it('runs a temporary data dir with the fast settings', async () => {
    const server = await startEmbeddedPostgres();
    servers.push(server);
    expect(await settings(server.url)).toEqual({ fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' });
  });
});

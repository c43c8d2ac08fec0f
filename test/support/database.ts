import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';

/** A database of its own for one spec file, dropped by `drop()`. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** A new, initialised TypeORM DataSource on this database (close it yourself). */
  dataSource(): Promise<DataSource>;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.FLOWBUS_TEST_SERVER_URL ?? process.env.DATABASE_URL;
  if (!url)
    throw new Error('No PostgreSQL: run the e2e suite through jest.e2e.config.js (its global setup starts one)');
  return url;
}

/** Creates a fresh database on the test server so spec files never see each other's rows. */
export async function createTestDatabase(prefix = 'flowbus_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async dataSource() {
      const ds = new DataSource({ type: 'postgres', url: url.toString(), extra: { max: 10 } });
      return ds.initialize();
    },
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

import { afterAll, beforeAll } from '@jest/globals';
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

/** The database and DataSource of a spec file set up by `useTestDatabase`. */
export interface TestDatabaseHandle {
  /** The spec file's database; throws if read before the `beforeAll` of `useTestDatabase` ran. */
  readonly db: TestDatabase;
  /** An initialised DataSource on it; throws if read before the `beforeAll` of `useTestDatabase` ran. */
  readonly ds: DataSource;
}

/**
 * Gives the calling spec file (or describe block) a database of its own: registers a `beforeAll`
 * that creates it and a DataSource on it, and an `afterAll` that destroys the DataSource (if
 * initialised) and drops the database. Read `db` and `ds` from the returned object in hooks and
 * tests, not at module load.
 *
 * Jest (circus) runs the hooks of one block in the order they are declared, `afterAll` included:
 * declare the `beforeAll` hooks that use the database after this call, and anything that must be
 * shut down before the database goes (apps on the DataSource) in an `afterEach`, or in an
 * `afterAll` declared before this call.
 */
export function useTestDatabase(prefix?: string): TestDatabaseHandle {
  let db: TestDatabase | undefined;
  let ds: DataSource | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(prefix);
    ds = await db.dataSource();
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });
  const notYet = (what: string) =>
    new Error(`useTestDatabase: ${what} is not set up yet (read it in a hook or test, after its beforeAll ran)`);
  return {
    get db() {
      if (!db) throw notYet('db');
      return db;
    },
    get ds() {
      if (!ds) throw notYet('ds');
      return ds;
    },
  };
}

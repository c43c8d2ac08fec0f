import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
// The CLI's logic, run in-process; module.e2e-spec also spawns the compiled `flowbus-migrate`.
import { runMigrateCli } from '../libs/flowbus/src/cli/migrate-cli.js';
import { migrationInstances } from '../libs/flowbus/src/migrations/flowbus-migrations.js';
import { useTestDatabase } from './support/database.js';

/** Every migration this version ships, so the expectations follow when a migration is added. */
const ALL_IDS = migrationInstances('public').map((m) => m.id);
const COUNT = ALL_IDS.length;

const testDb = useTestDatabase();

/** Runs `flowbus-migrate ...argv` with DATABASE_URL set to this spec's database unless `env` says otherwise. */
async function cli(argv: string[], env: Record<string, string | undefined> = { DATABASE_URL: testDb.db.url }) {
  let stdout = '';
  let stderr = '';
  const code = await runMigrateCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

const tables = async (schema: string) =>
  (
    await testDb.ds.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'flowbus_%' ORDER BY 1",
      [schema],
    )
  ).map((r: { table_name: string }) => r.table_name);

describe('flowbus-migrate usage', () => {
  it('prints its help with --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout } = await cli([flag], {});
      expect(code).toBe(0);
      expect(stdout).toContain('Usage: flowbus-migrate [command] [--schema <name>]');
      expect(stdout).toMatch(/up\s+apply the pending migrations/);
      expect(stdout).toMatch(/status\s+list the migrations applied and pending/);
      expect(stdout).toMatch(/sql\s+print the SQL/);
    }
  });

  it.each([
    [['--schemaa', 'billing'], 'unknown option "--schemaa" (did you mean "--schema"?)'],
    [['--schemaa=billing'], 'unknown option "--schemaa" (did you mean "--schema"?)'],
    [['--dry-run'], 'unknown option "--dry-run"'],
    [['stauts'], 'unknown command "stauts" (did you mean "status"?)'],
    [['up', 'now'], 'unexpected argument "now" after the command "up"'],
    [['--schema'], '--schema needs a value'],
    [['--schema', 'Bad-Name'], 'Invalid Flowbus option "schema"'],
  ])('rejects %j with exit code 2 and changes nothing', async (argv, message) => {
    const { code, stdout, stderr } = await cli(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(await tables('public')).toEqual([]);
    expect(await tables('billing')).toEqual([]);
  });

  it('needs DATABASE_URL for up and status', async () => {
    for (const command of ['up', 'status']) {
      const { code, stderr } = await cli([command], {});
      expect(code).toBe(2);
      expect(stderr).toBe('flowbus-migrate: set DATABASE_URL to the PostgreSQL database to migrate\n');
    }
  });

  it('exits 1 with the reason when the database cannot be reached', async () => {
    const url = new URL(testDb.db.url);
    url.pathname = '/no_such_database_here';
    const { code, stderr } = await cli(['status'], { DATABASE_URL: url.toString() });
    expect(code).toBe(1);
    expect(stderr).toContain('no_such_database_here');
  });
});

describe('flowbus-migrate commands', () => {
  it('up (the default) applies the migrations once, in the schema given', async () => {
    expect(await cli(['--schema', 'by_up'])).toEqual({
      code: 0,
      stdout: `flowbus-migrate: applied ${ALL_IDS.join(', ')} in schema "by_up"\n`,
      stderr: '',
    });
    expect((await cli(['up', '--schema=by_up'])).stdout).toBe('flowbus-migrate: schema "by_up" is up to date\n');
    expect(await tables('by_up')).toContain('flowbus_outbox');
  });

  it('takes the schema from FLOWBUS_SCHEMA when --schema is not given', async () => {
    const { stdout } = await cli(['up'], { DATABASE_URL: testDb.db.url, FLOWBUS_SCHEMA: 'by_env' });
    expect(stdout).toBe(`flowbus-migrate: applied ${ALL_IDS.join(', ')} in schema "by_env"\n`);
  });

  it('status lists what is applied and what is pending', async () => {
    const fresh = await cli(['status', '--schema', 'by_status']);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/pending {2}1 {2}FlowbusInit1763769600001\n/);
    expect(fresh.stdout).toMatch(/pending {2}2 {2}FlowbusSagas1763769600002\n/);
    expect(fresh.stdout).toContain(`0 applied, ${COUNT} pending`);
    expect(await tables('by_status')).toEqual([]); // status changes nothing

    await cli(['up', '--schema', 'by_status']);
    await testDb.ds.query('DELETE FROM by_status.flowbus_migrations WHERE id = 2');
    const behind = await cli(['status', '--schema', 'by_status']);
    expect(behind.stdout).toMatch(/applied {2}1 {2}FlowbusInit1763769600001 {2}\d{4}-\d\d-\d\dT/);
    expect(behind.stdout).toMatch(/pending {2}2 {2}FlowbusSagas1763769600002\n/);
    expect(behind.stdout).toContain(`${COUNT - 1} applied, 1 pending`);
  });

  it('sql prints the SQL of the pending migrations, which a DBA can run as it is', async () => {
    const { code, stdout } = await cli(['sql', '--schema', 'by_dba']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^BEGIN;\n/);
    expect(stdout).toContain('-- 1 FlowbusInit1763769600001');
    expect(stdout).toContain('CREATE TABLE IF NOT EXISTS "by_dba"."flowbus_outbox"');
    expect(stdout).toContain(
      `INSERT INTO "by_dba"."flowbus_migrations" (id, name) VALUES (2, 'FlowbusSagas1763769600002');`,
    );
    expect(stdout).toMatch(/COMMIT;\n$/);
    expect(await tables('by_dba')).toEqual([]); // printing changes nothing

    const client = new pg.Client({ connectionString: testDb.db.url });
    await client.connect();
    try {
      await client.query(stdout); // as psql -f would
    } finally {
      await client.end();
    }
    expect((await cli(['status', '--schema', 'by_dba'])).stdout).toContain(`${COUNT} applied, 0 pending`);
    expect((await cli(['sql', '--schema', 'by_dba'])).stdout).toBe('-- schema "by_dba" is up to date\n');
  });

  it('sql without DATABASE_URL prints every migration', async () => {
    const { code, stdout } = await cli(['sql', '--schema', 'anywhere'], {});
    expect(code).toBe(0);
    expect(stdout).toContain('-- 1 FlowbusInit1763769600001');
    expect(stdout).toContain('-- 2 FlowbusSagas1763769600002');
  });
});

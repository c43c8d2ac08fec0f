import { describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  EventBus,
  FlowbusModule,
  InvalidOptionsError,
  MigrationsPendingError,
  NoSubscriberError,
  OutboxService,
  flowbusMigrations,
} from 'nestjs-flowbus';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { useTestDatabase } from './support/database.js';

const testDb = useTestDatabase();

const tables = async (schema: string) =>
  (
    await testDb.ds.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'flowbus_%' ORDER BY 1",
      [schema],
    )
  ).map((r: { table_name: string }) => r.table_name);

const FLOWBUS_TABLES = [
  'flowbus_cursor',
  'flowbus_dead_letter',
  'flowbus_inbox',
  'flowbus_log',
  'flowbus_log_g0',
  'flowbus_log_g1',
  'flowbus_log_g2',
  'flowbus_log_gen',
  'flowbus_migrations',
  'flowbus_outbox',
  'flowbus_received',
  'flowbus_relay',
  'flowbus_saga',
  'flowbus_saga_timeout',
  'flowbus_subscriber',
  'flowbus_tick',
];

describe('start-up', () => {
  it('fails at start with an error naming the bad option', async () => {
    const error = await createFlowbusApp({ dataSource: testDb.ds, options: { relay: { pollIntervalMs: -5 } } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toBe('Invalid Flowbus option "relay.pollIntervalMs": must be >= 10, got -5');
  });

  it('fails at start without a DataSource, saying how to provide one', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FlowbusModule.forRoot({})] })
      .compile()
      .catch((e: unknown) => e);
    expect((moduleRef as Error).message).toContain(
      'Invalid Flowbus option "dataSource": not given, and no DataSource is provided by @nestjs/typeorm',
    );
  });

  it('uses the DataSource @nestjs/typeorm provides, with options from forRootAsync', async () => {
    @Module({})
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ type: 'postgres', url: testDb.db.url }),
        FlowbusModule.forRootAsync({
          imports: [ConfigModule],
          useFactory: () => ({ schema: 'via_async', relay: { enabled: false } }),
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    expect(await tables('via_async')).toEqual(FLOWBUS_TABLES);
    expect(app.get(EventBus)).toBeInstanceOf(EventBus);
    const outbox = app.get(OutboxService);
    await expect(
      outbox.transaction((m) => outbox.enqueue(m, { destination: 'local', type: 'Nobody', payload: {} })),
    ).rejects.toBeInstanceOf(NoSubscriberError);
    await app.close();
  });
});

describe('migrations', () => {
  it('creates the tables in the configured schema and is idempotent across restarts', async () => {
    for (let i = 0; i < 2; i++) {
      const app = await createFlowbusApp({
        dataSource: testDb.ds,
        options: { schema: 'tenant_a', relay: { enabled: false } },
      });
      await app.close();
    }
    expect(await tables('tenant_a')).toEqual(FLOWBUS_TABLES);
    expect(
      (await testDb.ds.query('SELECT id FROM tenant_a.flowbus_migrations ORDER BY id')).map(
        (r: { id: number }) => r.id,
      ),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('lets instances starting together migrate once (advisory lock)', async () => {
    const sources = await Promise.all([testDb.db.dataSource(), testDb.db.dataSource(), testDb.db.dataSource()]);
    const apps = await Promise.all(
      sources.map((dataSource) =>
        createFlowbusApp({ dataSource, options: { schema: 'racing', relay: { enabled: false } } }),
      ),
    );
    for (const app of apps) await app.close();
    for (const s of sources) await s.destroy();
    expect(await tables('racing')).toEqual(FLOWBUS_TABLES);
  });

  it('skips migrations with migrationsRun: false (and then refuses to start on a schema without them)', async () => {
    const error = await createFlowbusApp({
      dataSource: testDb.ds,
      options: { schema: 'unmigrated', migrationsRun: false, relay: { enabled: false }, timeouts: { enabled: false } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationsPendingError);
    expect(await tables('unmigrated')).toEqual([]);
  });

  it('runs through TypeORM’s own migration runner with flowbusMigrations()', async () => {
    const own = new DataSource({
      type: 'postgres',
      url: testDb.db.url,
      migrations: flowbusMigrations({ schema: 'typeorm_run' }),
      migrationsTableName: 'typeorm_run_migrations',
    });
    await own.initialize();
    const ran = await own.runMigrations();
    expect(ran.map((m) => m.name)).toEqual([
      'FlowbusInit_typeorm_run_1763769600001',
      'FlowbusSagas_typeorm_run_1763769600002',
      'FlowbusSubscribers_typeorm_run_1763769600003',
      'FlowbusLog_typeorm_run_1763769600004',
      'FlowbusReceived_typeorm_run_1763769600005',
      'FlowbusDeliveryKeys_typeorm_run_1763769600006',
      'FlowbusLogGenerations_typeorm_run_1763769600007',
      'FlowbusRelays_typeorm_run_1763769600008',
      'FlowbusCursorProgress_typeorm_run_1763769600009',
    ]);
    expect(await own.runMigrations()).toEqual([]);
    // Migration 6 keys the outbox by (id, subscriber); undone, by id again.
    const outboxKey = async () =>
      (
        await own.query(
          `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = 'typeorm_run.flowbus_outbox'::regclass AND i.indisprimary ORDER BY a.attname`,
        )
      ).map((r: { attname: string }) => r.attname);
    expect(await outboxKey()).toEqual(['id', 'subscriber']);
    // 9 drops the cursors' partial windows, 8 the relays' heartbeats, 7 turns the log back into
    // 0004's table, then 6 keys the outbox by id again.
    await own.undoLastMigration();
    await own.undoLastMigration();
    await own.undoLastMigration();
    await own.undoLastMigration();
    expect(await outboxKey()).toEqual(['id']);
    await own.destroy();
    expect(await tables('typeorm_run')).toEqual(
      FLOWBUS_TABLES.filter((t) => !/^flowbus_log_g/.test(t) && t !== 'flowbus_migrations' && t !== 'flowbus_relay'),
    );
  });

  it('runs from the flowbus-migrate CLI', async () => {
    // Compile the library as it ships (tsc) into a cache dir inside node_modules, so the compiled
    // CLI resolves typeorm and pg like an installed package would.
    const root = new URL('..', import.meta.url).pathname;
    const out = `${root}node_modules/.cache/flowbus-cli-test`;
    await run(process.execPath, [
      `${root}node_modules/typescript/bin/tsc`,
      '-p',
      `${root}libs/flowbus/tsconfig.lib.json`,
      '--outDir',
      out,
      '--declaration',
      'false',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
    ]);
    const env = { ...process.env, DATABASE_URL: testDb.db.url };
    const first = await run(process.execPath, [`${out}/cli/migrate.js`, '--schema', 'from_cli'], { env });
    expect(first.stdout).toBe('flowbus-migrate: applied 1, 2, 3, 4, 5, 6, 7, 8, 9 in schema "from_cli"\n');
    const second = await run(process.execPath, [`${out}/cli/migrate.js`, '--schema', 'from_cli'], { env });
    expect(second.stdout).toBe('flowbus-migrate: schema "from_cli" is up to date\n');
    expect(await tables('from_cli')).toEqual(FLOWBUS_TABLES);
    const bad = await run(process.execPath, [`${out}/cli/migrate.js`, '--schema', 'Bad-Name'], { env }).catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('Invalid Flowbus option "schema"') });
    const typo = await run(process.execPath, [`${out}/cli/migrate.js`, '--schemaa', 'from_cli'], { env }).catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect(typo).toMatchObject({ code: 2, stderr: expect.stringContaining('did you mean "--schema"?') });
  }, 120_000);
});

const run = promisify(execFile);

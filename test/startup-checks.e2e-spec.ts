import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import {
  EventBus,
  HandleEvent,
  MigrationsPendingError,
  MissingPrivilegesError,
  OnTimeout,
  OutboxService,
  Saga,
  SagaService,
  SagaStep,
  flowbusMigrations,
  type FlowbusOptions,
  type SagaContext,
} from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createFlowbusApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';

class Paid {
  constructor(readonly id: string) {}
}
class Expire {
  constructor(readonly id: string) {}
}

@Injectable()
class PaidLog {
  readonly ids: string[] = [];

  @HandleEvent(Paid, { durable: true })
  paid(e: Paid) {
    this.ids.push(e.id);
  }
}

@Saga({ name: 'paid-then-expired', initialState: () => ({}) })
class PaidSaga {
  @SagaStep(Paid, { start: true, correlate: (e: Paid) => e.id })
  paid(e: Paid, ctx: SagaContext) {
    ctx.scheduleTimeout(new Expire(e.id), 1);
  }

  @OnTimeout(Expire)
  expired(_t: Expire, ctx: SagaContext) {
    ctx.complete();
  }
}

let db: TestDatabase;
let ds: DataSource;
const dataSources: DataSource[] = [];
const apps = closeAppsAfterEach();
const role = `flowbus_runtime_${randomBytes(4).toString('hex')}`;
const password = randomBytes(12).toString('hex');

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  dataSources.push(ds);
});

afterAll(async () => {
  for (const d of dataSources.splice(1)) await d.destroy();
  // The role is the server's, not the database's: drop what it holds here, then the role.
  if ((await ds.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).length > 0) {
    await ds.query(`DROP OWNED BY ${role}`);
    await ds.query(`DROP ROLE ${role}`);
  }
  await ds.destroy();
  await db.drop();
});

async function start(options: Omit<FlowbusOptions, 'dataSource'>, dataSource = ds) {
  const app = await createFlowbusApp({ dataSource, options, providers: [PaidLog, PaidSaga] });
  apps.push(app);
  return app;
}

const startError = (options: Omit<FlowbusOptions, 'dataSource'>, dataSource = ds) =>
  start(options, dataSource).then(
    () => undefined,
    (e: unknown) => e as Error,
  );

/** Migrates `schema` as the owner, then closes that app. */
async function migrate(schema: string) {
  const app = await start({ schema, relay: { enabled: false }, timeouts: { enabled: false } });
  apps.splice(apps.indexOf(app), 1);
  await app.close();
}

describe('with migrationsRun: false', () => {
  it('fails bootstrap on missing tables, naming the migrations and the command that applies them', async () => {
    const error = await startError({ schema: 'fresh', migrationsRun: false });
    expect(error).toBeInstanceOf(MigrationsPendingError);
    expect((error as MigrationsPendingError).pending).toEqual([
      { id: 1, name: 'FlowbusInit1763769600001' },
      { id: 2, name: 'FlowbusSagas1763769600002' },
      { id: 3, name: 'FlowbusSubscribers1763769600003' },
      { id: 4, name: 'FlowbusLog1763769600004' },
      { id: 5, name: 'FlowbusReceived1763769600005' },
      { id: 6, name: 'FlowbusDeliveryKeys1763769600006' },
      { id: 7, name: 'FlowbusLogGenerations1763769600007' },
      { id: 8, name: 'FlowbusRelays1763769600008' },
      { id: 9, name: 'FlowbusCursorProgress1763769600009' },
    ]);
    expect(error!.message).toContain(
      'migration(s) 1 (FlowbusInit1763769600001), 2 (FlowbusSagas1763769600002), 3 (FlowbusSubscribers1763769600003), 4 (FlowbusLog1763769600004), 5 (FlowbusReceived1763769600005), 6 (FlowbusDeliveryKeys1763769600006), 7 (FlowbusLogGenerations1763769600007), 8 (FlowbusRelays1763769600008), 9 (FlowbusCursorProgress1763769600009) not applied',
    );
    expect(error!.message).toContain('npx flowbus-migrate up --schema fresh');
  });

  it('fails bootstrap on a schema that is behind, naming only what is missing', async () => {
    await migrate('behind');
    await ds.query('DELETE FROM behind.flowbus_migrations WHERE id = 2');
    await ds.query('DROP TABLE behind.flowbus_saga_timeout, behind.flowbus_saga');
    const error = await startError({ schema: 'behind', migrationsRun: false });
    expect(error).toBeInstanceOf(MigrationsPendingError);
    expect((error as MigrationsPendingError).pending).toEqual([{ id: 2, name: 'FlowbusSagas1763769600002' }]);
  });

  it('starts on a schema migrated by TypeORM’s own runner with flowbusMigrations()', async () => {
    const own = new DataSource({
      type: 'postgres',
      url: db.url,
      migrations: flowbusMigrations({ schema: 'by_typeorm' }),
      migrationsTableName: 'app_migrations',
    });
    await own.initialize();
    dataSources.push(own);
    await own.runMigrations();
    const app = await start({ schema: 'by_typeorm', migrationsRun: false }, own);
    const outbox = app.get(OutboxService);
    const id = randomUUID();
    await outbox.transaction((m) => outbox.publish(m, new Paid(id)));
    await waitFor(() => app.get(PaidLog).ids.includes(id));
  });
});

describe('a database role without the privileges Flowbus needs', () => {
  let asRole: DataSource;

  beforeAll(async () => {
    await migrate('app');
    await ds.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    asRole = new DataSource({ type: 'postgres', url: url.toString(), extra: { max: 10 } });
    await asRole.initialize();
    dataSources.push(asRole);
  });

  it('fails bootstrap naming the schema it may not use', async () => {
    const error = await startError({ schema: 'app' }, asRole);
    expect(error).toBeInstanceOf(MissingPrivilegesError);
    expect((error as MissingPrivilegesError).missing).toEqual([{ schema: 'app', table: null, privilege: 'USAGE' }]);
    expect(error!.message).toContain(`Flowbus cannot run as database role "${role}": it lacks USAGE on SCHEMA "app"`);
  });

  it('fails bootstrap naming each table and privilege missing, then starts and works once they are granted', async () => {
    await ds.query(`GRANT USAGE ON SCHEMA app TO ${role}`);
    await ds.query(`GRANT SELECT ON ALL TABLES IN SCHEMA app TO ${role}`);
    await ds.query(`GRANT INSERT ON app.flowbus_inbox TO ${role}`);
    // migrationsRun stays on (the default): with nothing pending it must not try DDL this role may not run.
    const error = (await startError({ schema: 'app' }, asRole)) as MissingPrivilegesError;
    expect(error).toBeInstanceOf(MissingPrivilegesError);
    expect(error.role).toBe(role);
    expect(error.missing).toContainEqual({ schema: 'app', table: 'flowbus_outbox', privilege: 'INSERT' });
    expect(error.missing).toContainEqual({ schema: 'app', table: 'flowbus_saga_timeout', privilege: 'DELETE' });
    // (The log storage's sequence is not among ALL TABLES: its SELECT is missing when the spec runs on the log.)
    expect(error.missing.filter((m) => !m.kind)).not.toContainEqual(expect.objectContaining({ privilege: 'SELECT' }));
    expect(error.missing).not.toContainEqual({ schema: 'app', table: 'flowbus_inbox', privilege: 'INSERT' });
    expect(error.message).toContain('INSERT, UPDATE, DELETE on "app"."flowbus_outbox"');
    expect(error.grants).toContain(`GRANT INSERT, UPDATE, DELETE ON "app"."flowbus_outbox" TO "${role}";`);

    for (const grant of error.grants) await ds.query(grant);
    const app = await start({ schema: 'app', relay: { pollIntervalMs: 50 }, timeouts: { pollIntervalMs: 50 } }, asRole);
    const id = randomUUID();
    const outbox = app.get(OutboxService);
    await outbox.transaction((m) => outbox.publish(m, new Paid(id)));
    await waitFor(() => app.get(PaidLog).ids.includes(id), { message: 'the durable handler' });
    const sagas = app.get(SagaService);
    await waitFor(async () => (await sagas.find('paid-then-expired', id))?.status === 'completed', {
      message: 'the saga step and its timeout',
    });
    // The in-process path (a saga step in its own transaction) runs as this role too.
    expect((await app.get(EventBus).publish(new Paid(randomUUID()))).failures).toEqual([]);
  });

  it('with relay.storage log, also checks the log tables, sequence and functions, then starts once granted', async () => {
    await ds.query(`GRANT SELECT, INSERT, DELETE ON app.flowbus_log, app.flowbus_tick TO ${role}`);
    await ds.query(`GRANT SELECT, INSERT ON app.flowbus_cursor TO ${role}`);
    await ds.query(`REVOKE UPDATE ON app.flowbus_cursor FROM ${role}`);
    await ds.query(`REVOKE INSERT, UPDATE, DELETE ON app.flowbus_relay FROM ${role}`);
    // (Granted by the test above when the spec runs on the log.)
    await ds.query(`REVOKE UPDATE ON app.flowbus_log_gen FROM ${role}`);
    await ds.query(`REVOKE TRUNCATE ON app.flowbus_log_g0, app.flowbus_log_g1, app.flowbus_log_g2 FROM ${role}`);
    await ds.query(`REVOKE SELECT ON SEQUENCE app.flowbus_log_seq FROM ${role}`);
    await ds.query(`REVOKE EXECUTE ON FUNCTION app.flowbus_tick() FROM PUBLIC, ${role}`);
    expect(await startError({ schema: 'app', relay: { storage: 'table' } }, asRole)).toBeUndefined();
    const error = (await startError({ schema: 'app', relay: { storage: 'log' } }, asRole)) as MissingPrivilegesError;
    expect(error).toBeInstanceOf(MissingPrivilegesError);
    expect(error.missing).toEqual([
      { schema: 'app', table: 'flowbus_cursor', privilege: 'UPDATE' },
      // The retention sweep switches generations and empties them.
      { schema: 'app', table: 'flowbus_log_gen', privilege: 'UPDATE' },
      // The relays' heartbeats (each relay's share of the cursors).
      ...['INSERT', 'UPDATE', 'DELETE'].map((privilege) => ({ schema: 'app', table: 'flowbus_relay', privilege })),
      ...[0, 1, 2].map((g) => ({ schema: 'app', table: `flowbus_log_g${g}`, privilege: 'TRUNCATE' })),
      { schema: 'app', table: 'flowbus_log_seq', privilege: 'SELECT', kind: 'sequence' },
      { schema: 'app', table: 'flowbus_tick', privilege: 'EXECUTE', kind: 'function' },
    ]);
    expect(error.grants).toEqual([
      `GRANT UPDATE ON "app"."flowbus_cursor" TO "${role}";`,
      `GRANT UPDATE ON "app"."flowbus_log_gen" TO "${role}";`,
      `GRANT INSERT, UPDATE, DELETE ON "app"."flowbus_relay" TO "${role}";`,
      ...[0, 1, 2].map((g) => `GRANT TRUNCATE ON "app"."flowbus_log_g${g}" TO "${role}";`),
      `GRANT SELECT ON SEQUENCE "app"."flowbus_log_seq" TO "${role}";`,
      `GRANT EXECUTE ON FUNCTION "app"."flowbus_tick" TO "${role}";`,
    ]);
    for (const grant of error.grants) await ds.query(grant);
    const app = await start(
      { schema: 'app', relay: { storage: 'log', pollIntervalMs: 50, retentionMs: 0, retentionIntervalMs: 100 } },
      asRole,
    );
    const id = randomUUID();
    const outbox = app.get(OutboxService);
    await outbox.transaction((m) => outbox.publish(m, new Paid(id)));
    await waitFor(() => app.get(PaidLog).ids.includes(id), { message: 'the durable handler, through the log' });
    // Its retention sweep may switch and empty the log's generations.
    await waitFor(async () => Number((await ds.query('SELECT count(*) AS n FROM app.flowbus_log'))[0].n) === 0, {
      message: 'the retention sweep to empty the generation holding the row',
    });
  });
});

import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ConfigurationError,
  EventBus,
  FlowbusModule,
  HandleEvent,
  NoSubscriberError,
  OutboxService,
  Saga,
  SagaService,
  SagaStep,
  SagaStepError,
  type SagaContext,
} from 'nestjs-flowbus';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import { adminApi, createAdminApp } from './support/admin-app.js';
import { createFlowbusApp, writtenRows } from './support/app.js';
import { useTestDatabase } from './support/database.js';
import { RecordingDestination } from './support/recording-destination.js';

const testDb = useTestDatabase();
const apps: INestApplication[] = [];

beforeAll(async () => {
  await testDb.ds.query('CREATE TABLE orders (id text PRIMARY KEY)');
});

afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.close();
});

async function start(...args: Parameters<typeof createFlowbusApp>): Promise<INestApplication> {
  const app = await createFlowbusApp(args[0]);
  apps.push(app);
  return app;
}

const fast = { pollIntervalMs: 50, listen: false };
const count = async (sql: string, params: unknown[] = []) => Number((await testDb.ds.query(sql, params))[0].n);

// --- a typo does not vanish -------------------------------------------------------------------

class Known {
  constructor(readonly n: number) {}
}
class InProcessOnly {
  constructor(readonly n: number) {}
}
class Nobody {
  constructor(readonly n: number) {}
}
class SendTypo {
  constructor(readonly id: string) {}
}
class CompensationTypo {
  constructor(readonly id: string) {}
}

const knownHandled: number[] = [];

@Injectable()
class KnownHandlers {
  @HandleEvent(Known, { durable: true })
  onKnown(e: Known) {
    knownHandled.push(e.n);
  }

  @HandleEvent(InProcessOnly)
  inProcess() {}
}

@Saga({ name: 'typo-saga' })
class TypoSaga {
  @SagaStep(SendTypo, { start: true, correlate: (e) => e.id })
  start(_e: SendTypo, ctx: SagaContext) {
    ctx.send('local', 'Knwon', { n: 1 });
  }

  @SagaStep(CompensationTypo, { start: true, correlate: (e) => e.id })
  record(_e: CompensationTypo, ctx: SagaContext) {
    ctx.addCompensation({ destination: 'local', type: 'Knonw', payload: {} });
  }
}

describe('a local type nobody subscribes to', () => {
  it('fails enqueue in the caller’s transaction, naming the type with a "did you mean"', async () => {
    const app = await start({ dataSource: testDb.ds, providers: [KnownHandlers], options: { relay: fast } });
    const outbox = app.get(OutboxService);
    const before = await count('SELECT count(*) AS n FROM flowbus_outbox');
    const error = await testDb.ds
      .transaction(async (m) => {
        await m.query("INSERT INTO orders (id) VALUES ('typo')");
        await outbox.enqueue(m, { destination: 'local', type: 'Knwon', payload: { n: 1 } });
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoSubscriberError);
    expect(error).toMatchObject({ code: 'FLOWBUS_NO_SUBSCRIBER', eventType: 'Knwon', suggestion: 'Known' });
    expect((error as Error).message).toContain('No durable subscriber for type "Knwon" in any app on this database');
    expect((error as Error).message).toContain('did you mean "Known"?');
    expect(await count("SELECT count(*) AS n FROM orders WHERE id = 'typo'")).toBe(0);
    expect(await count('SELECT count(*) AS n FROM flowbus_outbox')).toBe(before);

    // The right type still goes through.
    await outbox.transaction((m) => outbox.enqueue(m, { destination: 'local', type: 'Known', payload: { n: 7 } }));
    await waitFor(() => knownHandled.includes(7));
  });

  it('fails publish of an event with no durable subscriber and no route, saying when it has in-process handlers', async () => {
    const app = await start({ dataSource: testDb.ds, providers: [KnownHandlers], options: { relay: fast } });
    const outbox = app.get(OutboxService);
    await expect(outbox.transaction((m) => outbox.publish(m, new Nobody(1)))).rejects.toThrow(
      'No durable subscriber for type "Nobody"',
    );
    const inProcess = await outbox.transaction((m) => outbox.publish(m, new InProcessOnly(1))).catch((e: Error) => e);
    expect(inProcess).toBeInstanceOf(NoSubscriberError);
    expect((inProcess as Error).message).toContain('InProcessOnly has in-process handlers only');
    expect(await count("SELECT count(*) AS n FROM flowbus_outbox WHERE type IN ('Nobody', 'InProcessOnly')")).toBe(0);
  });

  it('fails the saga step that sends it, alone, with nothing written', async () => {
    const app = await start({ dataSource: testDb.ds, providers: [KnownHandlers, TypoSaga], options: { relay: fast } });
    const result = await app.get(EventBus).publish(new SendTypo('t-1'));
    expect(result.failures).toHaveLength(1);
    const error = result.failures[0]!.error as SagaStepError;
    expect(error).toBeInstanceOf(SagaStepError);
    expect(error.cause).toBeInstanceOf(NoSubscriberError);
    expect(error.message).toContain('did you mean "Known"?');
    expect(await app.get(SagaService).find('typo-saga', 't-1')).toBeUndefined();
    expect(await count("SELECT count(*) AS n FROM flowbus_outbox WHERE type = 'Knwon'")).toBe(0);

    // A compensation is checked when recorded, not when the saga compensates.
    const recorded = await app.get(EventBus).publish(new CompensationTypo('t-2'));
    expect((recorded.failures[0]?.error as Error | undefined)?.cause).toBeInstanceOf(NoSubscriberError);
    expect(await app.get(SagaService).find('typo-saga', 't-2')).toBeUndefined();
  });
});

// --- an API app that only produces, a worker app that consumes ---------------------------------

class Shipped {
  static eventType = 'two-apps.Shipped';
  constructor(readonly orderId: string) {}
}

const shipped: string[] = [];

@Injectable()
class ShippingWorker {
  @HandleEvent(Shipped, { durable: true })
  async onShipped(e: Shipped) {
    shipped.push(e.orderId);
  }
}

describe('two apps on one database: a producer without handlers, a worker with them', () => {
  it('delivers what the producer publishes to the worker; the producer’s relay leaves those rows alone', async () => {
    const sink = new RecordingDestination();
    const producer = await createAdminApp(testDb.ds, { destinations: { sink }, relay: fast });
    apps.push(producer);
    const outbox = producer.get(OutboxService);

    // Nobody anywhere subscribes yet.
    await expect(outbox.transaction((m) => outbox.publish(m, new Shipped('o-0')))).rejects.toBeInstanceOf(
      NoSubscriberError,
    );

    // A worker records its subscribers at start (its relay off for now).
    const idle = await createFlowbusApp({
      dataSource: testDb.ds,
      providers: [ShippingWorker],
      options: { relay: { enabled: false } },
    });
    const [id] = await outbox.transaction(async (m) => {
      const ids = await outbox.publish(m, new Shipped('o-1'));
      // Enqueued after the Shipped row: once the sink got it, the producer's relay has passed that row.
      await outbox.enqueue(m, { destination: 'sink', type: 'Sentinel', payload: {} });
      return ids;
    });
    await idle.close();
    const api = adminApi(producer);
    expect((await api.get(`/outbox/${id}`).expect(200)).body).toMatchObject({
      destination: 'local',
      subscriber: 'ShippingWorker.onShipped',
      type: 'two-apps.Shipped',
    });
    await waitFor(() => sink.received.length === 1);
    await drainOutbox(producer);
    expect((await api.get(`/outbox/${id}`).expect(200)).body).toMatchObject({
      attempts: 0,
      lockOwner: null,
      deliveredAt: null,
    });
    expect(await count('SELECT count(*) AS n FROM flowbus_dead_letter')).toBe(0);

    // Visible as "no subscriber here" from the producer's admin API.
    const stats = await api.get('/stats').expect(200);
    expect(stats.body.outbox.noSubscriberHere).toBe(1);
    expect(stats.body.outbox.byDestination).toEqual(
      expect.arrayContaining([expect.objectContaining({ destination: 'local', pending: 1, noSubscriberHere: 1 })]),
    );
    expect((await api.get(`/outbox/${id}`).expect(200)).body).toMatchObject({
      status: 'pending',
      noSubscriberHere: true,
    });

    // The worker relays it.
    const worker = await start({ dataSource: testDb.ds, providers: [ShippingWorker], options: { relay: fast } });
    await waitFor(() => shipped.includes('o-1'));
    await drainOutbox(worker);
    expect(shipped).toEqual(['o-1']);
    expect((await api.get('/stats').expect(200)).body.outbox.noSubscriberHere).toBe(0);
    expect((await api.get(`/outbox/${id}`).expect(200)).body).toMatchObject({
      status: 'delivered',
      noSubscriberHere: false,
    });
  });
});

class Packed {
  static eventType = 'two-apps.Packed';
  constructor(readonly orderId: string) {}
}

@Injectable()
class PackingWorker {
  @HandleEvent(Packed, { durable: true })
  onPacked() {}
}

@Injectable()
class PackingAudit {
  @HandleEvent(Packed, { durable: true })
  onPacked() {}
}

describe('the producer’s cached directory', () => {
  // Table storage only: a producer fans out to the subscribers its directory knows at publish
  // time. The log writes the event once; each subscriber reads it through its own cursor.
  const off = { enabled: false, storage: 'table' } as const;

  it('picks up a new subscriber of a type it already knows within its refresh period', async () => {
    await start({ dataSource: testDb.ds, providers: [PackingWorker], options: { relay: off } });
    const producer = await start({ dataSource: testDb.ds, options: { relay: off } });
    const outbox = producer.get(OutboxService);
    const subscribersOf = async (ids: string[]) =>
      (
        await testDb.ds.query('SELECT subscriber FROM flowbus_outbox WHERE id = ANY($1::uuid[]) ORDER BY subscriber', [
          ids,
        ])
      )
        .map((r: { subscriber: string }) => r.subscriber)
        .join(',');
    const first = await outbox.transaction((m) => outbox.publish(m, new Packed('p-1')));
    expect(await subscribersOf(first)).toBe('PackingWorker.onPacked');

    // Another app adds a subscriber of the same type; the producer's cache knows the type already.
    await start({ dataSource: testDb.ds, providers: [PackingAudit], options: { relay: off } });
    const started = Date.now();
    await waitFor(
      async () =>
        (await subscribersOf(await outbox.transaction((m) => outbox.publish(m, new Packed('p-n'))))) ===
        'PackingAudit.onPacked,PackingWorker.onPacked',
      { timeoutMs: 20_000, intervalMs: 250, message: 'a row for the new subscriber' },
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    // No relay here delivers them: leave no pending rows behind for the next tests' counts.
    await testDb.ds.query("DELETE FROM flowbus_outbox WHERE type = 'two-apps.Packed'");
  }, 30_000);
});

// --- stable subscriber names ------------------------------------------------------------------

class Charge {
  static eventType = 'names.Charge';
  constructor(readonly orderId: string) {}
}

const charged: string[] = [];

/** Version 1: the subscriber's identity is the default, `Billing.charge`. */
@Injectable()
class Billing {
  @HandleEvent(Charge, { durable: true })
  charge(e: Charge) {
    charged.push(`v1:${e.orderId}`);
  }
}

/** Version 2: class and method renamed, identity kept with `name`. */
@Injectable()
class Payments {
  @HandleEvent(Charge, { durable: true, name: 'Billing.charge' })
  take(e: Charge) {
    charged.push(`v2:${e.orderId}`);
  }
}

class Refund {
  static eventType = 'names.Refund';
  constructor(readonly orderId: string) {}
}

const refunded: string[] = [];

/** An old version whose subscriber a newer version renamed without keeping its identity. */
@Injectable()
class LegacyRefunds {
  @HandleEvent(Refund, { durable: true })
  refund(e: Refund) {
    refunded.push(`legacy:${e.orderId}`);
  }
}

@Injectable()
class Refunds {
  @HandleEvent(Refund, { durable: true, name: 'refunds.refund' })
  refund(e: Refund) {
    refunded.push(`new:${e.orderId}`);
  }
}

describe('durable subscriber names', () => {
  it('keeps messages in flight reaching a renamed handler whose name keeps the old identity', async () => {
    const v1 = await createFlowbusApp({
      dataSource: testDb.ds,
      providers: [Billing],
      options: { relay: { enabled: false } },
    });
    const outbox = v1.get(OutboxService);
    const [id] = await outbox.transaction((m) => outbox.publish(m, new Charge('c-1')));
    await v1.close();
    if (writtenRows.table === 'flowbus_outbox') {
      expect((await testDb.ds.query('SELECT subscriber FROM flowbus_outbox WHERE id = $1', [id]))[0].subscriber).toBe(
        'Billing.charge',
      );
    } else {
      // Log storage: the subscriber reads it through the cursor its name was given at v1's start.
      expect(
        await count("SELECT count(*) AS n FROM flowbus_cursor WHERE subscriber = 'local:Billing.charge'"),
      ).toBeGreaterThan(0);
    }

    const v2 = await start({ dataSource: testDb.ds, providers: [Payments], options: { relay: fast } });
    await waitFor(() => charged.includes('v2:c-1'));
    await drainOutbox(v2);
    expect(charged).toEqual(['v2:c-1']);
    expect(await testDb.ds.query('SELECT subscriber FROM flowbus_inbox WHERE message_id = $1', [id])).toEqual([
      { subscriber: 'Billing.charge' },
    ]);
  });

  it('leaves rows for a subscriber this app does not have pending, never dead-lettered, until an app that has it runs', async () => {
    const legacy = await createFlowbusApp({
      dataSource: testDb.ds,
      providers: [LegacyRefunds],
      options: { relay: { enabled: false } },
    });
    const legacyOutbox = legacy.get(OutboxService);
    const [oldId] = await legacyOutbox.transaction((m) => legacyOutbox.publish(m, new Refund('r-1')));
    await legacy.close();

    const sink = new RecordingDestination();
    const current = await createAdminApp(
      testDb.ds,
      { destinations: { sink }, relay: { ...fast, maxAttempts: 1 } },
      { providers: [Refunds] },
    );
    apps.push(current);
    const outbox = current.get(OutboxService);
    await outbox.transaction(async (m) => {
      await outbox.publish(m, new Refund('r-2'));
      await outbox.enqueue(m, { destination: 'sink', type: 'Sentinel', payload: {} });
    });
    await waitFor(() => sink.received.length === 1 && refunded.includes('new:r-2'));
    await drainOutbox(current);
    expect((await adminApi(current).get(`/outbox/${oldId}`).expect(200)).body).toMatchObject({
      subscriber: 'LegacyRefunds.refund',
      status: 'pending',
      attempts: 0,
      deliveredAt: null,
    });
    expect(await count('SELECT count(*) AS n FROM flowbus_dead_letter')).toBe(0);
    const stats = (await adminApi(current).get('/stats').expect(200)).body;
    // r-1 for the legacy name, and r-2's copy for it (the directory still lists the legacy subscriber).
    expect(stats.outbox.noSubscriberHere).toBe(2);

    const old2 = await start({ dataSource: testDb.ds, providers: [LegacyRefunds], options: { relay: fast } });
    await waitFor(() => refunded.includes('legacy:r-1') && refunded.includes('legacy:r-2'));
    await drainOutbox(old2);
    expect(refunded.sort()).toEqual(['legacy:r-1', 'legacy:r-2', 'new:r-2']);
  });

  it('refuses a name on an in-process handler, and a name in the sagas’ namespace', async () => {
    @Injectable()
    class NamedInProcess {
      @HandleEvent(Charge, { name: 'x.y' })
      on() {}
    }
    @Injectable()
    class SagaNamed {
      @HandleEvent(Charge, { durable: true, name: 'saga:billing' })
      on() {}
    }
    @Injectable()
    class SameNameTwice {
      @HandleEvent(Charge, { durable: true, name: 'dup' })
      a() {}
      @HandleEvent(Refund, { durable: true, name: 'dup' })
      b() {}
    }
    await expect(createFlowbusApp({ dataSource: testDb.ds, providers: [NamedInProcess] })).rejects.toThrow(
      'name is only for durable handlers',
    );
    await expect(createFlowbusApp({ dataSource: testDb.ds, providers: [SagaNamed] })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(createFlowbusApp({ dataSource: testDb.ds, providers: [SameNameTwice] })).rejects.toThrow(
      'Durable subscriber name "dup" is used by SameNameTwice.a and SameNameTwice.b',
    );
  });
});

// --- decorated but not registered ---------------------------------------------------------------

class Forgotten {
  constructor(readonly id: string) {}
}

@Injectable()
export class ForgottenHandler {
  @HandleEvent(Forgotten, { durable: true })
  on() {}
}

@Saga({ name: 'forgotten-saga' })
export class ForgottenSaga {
  @SagaStep(Forgotten, { start: true, correlate: (e) => e.id })
  start() {}
}

@Injectable()
class RegisteredHandler {
  @HandleEvent(Forgotten)
  on() {}
}

class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log() {}
  error() {}
  warn(message: unknown) {
    this.warnings.push(String(message));
  }
}

describe('decorated classes missing from providers', () => {
  it('are reported at start-up, by name', async () => {
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [FlowbusModule.forRoot({ dataSource: testDb.ds, relay: { enabled: false } })],
      providers: [RegisteredHandler],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    apps.push(app);
    const about = (name: string) => logger.warnings.filter((w) => w.startsWith(`${name} has `));
    expect(about('ForgottenHandler')).toEqual([
      "ForgottenHandler has @HandleEvent but is not in any module's providers: it receives nothing. " +
        'Add it to the providers of a module, or ignore this if another app registers it',
    ]);
    expect(about('ForgottenSaga')).toEqual([
      expect.stringContaining("ForgottenSaga has @Saga but is not in any module's providers"),
    ]);
    expect(about('RegisteredHandler')).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Cron, Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import {
  EventBus,
  HandleEvent,
  OnTimeout,
  OutboxService,
  Saga,
  SagaService,
  SagaStep,
  type FlowbusOptions,
  type SagaContext,
} from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createFlowbusApp } from './support/app.js';
import { useTestDatabase } from './support/database.js';
import { closeAppsAfterEach } from './support/hooks.js';

/** The host app's own scheduled jobs: each records when it ran. */
@Injectable()
class AppJobs {
  readonly interval: number[] = [];
  readonly cron: number[] = [];

  @Interval('app-interval', 100)
  everyTenthSecond() {
    this.interval.push(performance.now());
  }

  @Cron('* * * * * *', { name: 'app-cron' })
  everySecond() {
    this.cron.push(performance.now());
  }
}

class Shipped {
  constructor(readonly id: string) {}
}
class Begin {
  constructor(
    readonly id: string,
    readonly delayMs: number,
  ) {}
}
class Expire {
  constructor(readonly id: string) {}
}

@Injectable()
class ShippedLog {
  readonly ids: string[] = [];

  @HandleEvent(Shipped, { durable: true })
  shipped(e: Shipped) {
    this.ids.push(e.id);
  }
}

@Saga({ name: 'expiring', initialState: () => ({ expired: false }) })
class ExpiringSaga {
  @SagaStep(Begin, { start: true, correlate: (e: Begin) => e.id })
  begin(e: Begin, ctx: SagaContext<{ expired: boolean }>) {
    ctx.scheduleTimeout(new Expire(e.id), e.delayMs);
  }

  @OnTimeout(Expire)
  expire(_t: Expire, ctx: SagaContext<{ expired: boolean }>) {
    ctx.state.expired = true;
    ctx.complete();
  }
}

const testDb = useTestDatabase();
const apps = closeAppsAfterEach();

async function app(setup: { schedule: boolean; flowbus?: boolean; options?: Omit<FlowbusOptions, 'dataSource'> }) {
  const imports = setup.schedule ? [ScheduleModule.forRoot()] : [];
  const providers = [AppJobs, ShippedLog, ExpiringSaga];
  let created: INestApplication;
  if (setup.flowbus === false) {
    const ref = await Test.createTestingModule({ imports, providers: [AppJobs] }).compile();
    created = ref.createNestApplication({ logger: false });
    await created.init();
  } else {
    created = await createFlowbusApp({ dataSource: testDb.ds, imports, providers, options: setup.options });
  }
  apps.push(created);
  return created;
}

/** Polls only: no LISTEN, so what an other instance writes is found by the timers alone. */
const pollingConsumer: Omit<FlowbusOptions, 'dataSource'> = {
  relay: { pollIntervalMs: 100, listen: false },
  timeouts: { pollIntervalMs: 100 },
};
/** An instance that writes rows but runs neither the relay nor the timeout scheduler. */
const producerOnly: Omit<FlowbusOptions, 'dataSource'> = {
  relay: { enabled: false },
  timeouts: { enabled: false },
};

/** Runs the app until its per-second cron fired three times; returns what its jobs recorded. */
async function observeJobs(running: INestApplication) {
  const jobs = running.get(AppJobs);
  await waitFor(() => jobs.cron.length >= 3, { timeoutMs: 8000, message: 'three cron runs' });
  const [from, , to] = jobs.cron as [number, number, number];
  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);
  return {
    /** Interval runs between the first and the third cron run (two seconds). */
    intervalRuns: jobs.interval.filter((t) => t >= from && t <= to).length,
    expectedIntervalRuns: (to - from) / 100,
    minIntervalGap: Math.min(...gaps(jobs.interval)),
    minCronGap: Math.min(...gaps(jobs.cron)),
  };
}

/**
 * Proves the Flowbus timers of `consumer` work: another instance writes an outbox row and
 * schedules a saga timeout, and only `consumer`'s polls (no LISTEN, no in-process wake-up) can
 * deliver the one and fire the other.
 */
async function expectTimersRun(consumer: INestApplication) {
  const producer = await app({ schedule: false, options: producerOnly });
  const id = randomUUID();
  const outbox = producer.get(OutboxService);
  await outbox.transaction((m) => outbox.publish(m, new Shipped(id)));
  await producer.get(EventBus).publish(new Begin(id, 200));
  await waitFor(() => consumer.get(ShippedLog).ids.includes(id), { message: 'the relay poll to deliver' });
  expect(producer.get(ShippedLog).ids).toEqual([]);
  const sagas = consumer.get(SagaService);
  await waitFor(async () => (await sagas.find('expiring', id))?.status === 'completed', {
    message: 'the timeout poll to fire',
  });
  expect((await sagas.find<{ expired: boolean }>('expiring', id))!.state).toEqual({ expired: true });
}

describe('an app with its own ScheduleModule.forRoot()', () => {
  it('runs each of its @Interval and @Cron jobs once per period, as without Flowbus', async () => {
    const withFlowbus = await observeJobs(await app({ schedule: true, options: pollingConsumer }));
    const alone = await observeJobs(await app({ schedule: true, flowbus: false }));
    // The same bounds hold with and without Flowbus. A job started twice runs in pairs a
    // millisecond or two apart, twice as often; a loaded machine can only make runs later and fewer.
    for (const run of [withFlowbus, alone]) {
      expect(run.minIntervalGap).toBeGreaterThan(20);
      expect(run.minCronGap).toBeGreaterThan(100);
      expect(run.intervalRuns).toBeLessThanOrEqual(run.expectedIntervalRuns + 2);
      expect(run.intervalRuns).toBeGreaterThanOrEqual(run.expectedIntervalRuns / 4);
    }
  });

  it('registers the Flowbus timers in its SchedulerRegistry, where they run, and removes them on shutdown', async () => {
    const consumer = await app({ schedule: true, options: pollingConsumer });
    const registry = consumer.get(SchedulerRegistry);
    expect(registry.getIntervals().sort()).toEqual([
      'app-interval',
      'flowbus-relay',
      'flowbus-retention',
      'flowbus-timeouts',
    ]);
    await expectTimersRun(consumer);
    apps.splice(apps.indexOf(consumer), 1);
    await consumer.close();
    expect(registry.doesExist('interval', 'flowbus-relay')).toBe(false);
  });
});

describe('an app without ScheduleModule', () => {
  it('has no SchedulerRegistry, and Flowbus still relays and fires saga timeouts on its own timers', async () => {
    const consumer = await app({ schedule: false, options: pollingConsumer });
    expect(() => consumer.get(SchedulerRegistry, { strict: false })).toThrow();
    await expectTimersRun(consumer);
  });
});

/** Run in a child process: imports the compiled library while `@nestjs/schedule` cannot be resolved. */
const WITHOUT_SCHEDULE = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
  export async function resolve(specifier, context, next) {
    if (specifier === '@nestjs/schedule' || specifier.startsWith('@nestjs/schedule/')) {
      throw Object.assign(new Error('Cannot find package @nestjs/schedule'), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    return next(specifier, context);
  }\`));
await import('reflect-metadata');
const missing = await import('@nestjs/schedule').then(() => false, () => true);
const { FlowbusModule, OutboxService } = await import(process.argv[2]);
const { Module } = await import('@nestjs/common');
const { NestFactory } = await import('@nestjs/core');
const { DataSource } = await import('typeorm');
const dataSource = await new DataSource({ type: 'postgres', url: process.env.DATABASE_URL }).initialize();
const delivered = [];
class AppModule {}
Module({
  imports: [FlowbusModule.forRoot({
    dataSource,
    schema: 'no_schedule',
    relay: { pollIntervalMs: 20, listen: false },
    destinations: { sink: { deliver: (m) => void delivered.push(m.id) } },
  })],
})(AppModule);
const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const outbox = app.get(OutboxService);
const [id] = await outbox.transaction((m) => outbox.enqueue(m, { destination: 'sink', type: 'Ping', payload: {} }));
for (let i = 0; i < 500 && !delivered.includes(id); i++) await new Promise((r) => setTimeout(r, 10));
await app.close();
await dataSource.destroy();
process.stdout.write(JSON.stringify({ missing, delivered: delivered.includes(id) }));
`;

describe('without @nestjs/schedule installed (an optional peer)', () => {
  it('loads, starts and relays', async () => {
    // Compile the library as it ships into a cache dir inside node_modules, so the compiled code
    // resolves its dependencies like an installed package would.
    const root = new URL('..', import.meta.url).pathname;
    const out = `${root}node_modules/.cache/flowbus-no-schedule-test`;
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
    await writeFile(`${out}/without-schedule.mjs`, WITHOUT_SCHEDULE);
    const { stdout } = await run(process.execPath, [`${out}/without-schedule.mjs`, `${out}/index.js`], {
      env: { ...process.env, DATABASE_URL: testDb.db.url },
    });
    expect(JSON.parse(stdout)).toEqual({ missing: true, delivered: true });
  }, 120_000);
});

const run = promisify(execFile);

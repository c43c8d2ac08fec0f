import { Logger, run, runMigrations, type Runner, type RunnerOptions } from 'graphile-worker';
import { inTransaction } from '../../support/pg-client.js';
import type { DrainContender } from './contender.interface.js';
import { PAYLOAD_SQL } from './outbox-seed.js';

/**
 * graphile-worker 0.17 tuned for throughput: 10 concurrent jobs, a local queue (the pool locks a
 * batch of `localQueue` jobs per fetch and hands them to its workers) and batched completion
 * (`completeJobBatchDelay: 0`). The runner is idle when seeding commits; `add_jobs` NOTIFYs it.
 */
export function graphileWorkerContender(p: { concurrency: number; localQueue: number }): DrainContender {
  return {
    reset: async (db) => {
      await db.query('TRUNCATE graphile_worker._private_jobs');
    },
    seed: async (db, n) => {
      await inTransaction(db, async () => {
        await db.query(
          `SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
             SELECT ROW('noop', ${PAYLOAD_SQL}::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec
             FROM generate_series(1, $1) g))`,
          [n],
        );
        await db.query('ANALYZE graphile_worker._private_jobs');
      });
    },
    remaining: async (db) => {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
      return rows[0]!.n;
    },
    startConsumer: async (url, handled) => {
      const options: RunnerOptions = {
        connectionString: url,
        concurrency: p.concurrency,
        noHandleSignals: true,
        logger: quietLogger,
        taskList: {
          noop: async () => {
            handled();
          },
        },
        preset: { worker: { localQueue: { size: p.localQueue }, completeJobBatchDelay: 0 } },
      };
      await runMigrations(options);
      const runner: Runner = await run(options);
      return { go: async () => undefined, pause: async () => undefined, close: () => runner.stop() };
    },
  };
}

/** Prints warnings and errors only. */
const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
});

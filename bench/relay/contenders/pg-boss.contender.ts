import PgBoss from 'pg-boss';
import type { DrainContender } from './contender.interface.js';

const QUEUE = 'bench-drain';

/**
 * pg-boss 10 tuned: batch work handlers (`work(name, { batchSize })`, one handler call per
 * fetched batch, completed in one statement) with the shortest polling interval it accepts
 * (0.5 s), `workers` of them in the process (v10's way to run fetches concurrently). pg-boss has
 * no LISTEN: its workers start fetching when the parent says go, after seeding.
 */
export function pgBossContender(p: { batchSize: number; workers: number }, url: string): DrainContender {
  let seeder: PgBoss | undefined;
  const connect = async (url: string) => {
    const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false, max: 10 });
    boss.on('error', (error) => console.error(`pg-boss error: ${String(error)}`));
    await boss.start();
    await boss.createQueue(QUEUE);
    return boss;
  };
  return {
    reset: async (db) => {
      await db.query('TRUNCATE pgboss.job, pgboss.archive');
    },
    seed: async (db, n) => {
      seeder ??= await connect(url);
      // insert() writes every job in one statement (json_to_recordset), so in one transaction.
      const jobs = Array.from({ length: n }, (_, i) => ({
        name: QUEUE,
        data: { orderId: `order-${i + 1}`, amount: i + 1, currency: 'EUR' },
      }));
      await seeder.insert(jobs);
      await db.query('ANALYZE pgboss.job');
    },
    remaining: async (db) => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state < 'completed'`,
        [QUEUE],
      );
      return rows[0]!.n;
    },
    dispose: async () => {
      await seeder?.stop({ graceful: false, wait: true });
      seeder = undefined;
    },
    startConsumer: async (url, handled) => {
      const boss = await connect(url);
      const noop = async (jobs: PgBoss.Job<unknown>[]) => {
        for (let i = 0; i < jobs.length; i++) handled();
      };
      return {
        go: async () => {
          for (let w = 0; w < p.workers; w++)
            await boss.work(QUEUE, { batchSize: p.batchSize, pollingIntervalSeconds: 0.5 }, noop);
        },
        pause: async () => {
          await boss.offWork(QUEUE);
        },
        close: () => boss.stop({ graceful: false, wait: true }),
      };
    },
  };
}

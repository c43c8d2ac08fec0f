import type pg from 'pg';
import { inTransaction } from '../../support/pg-client.js';

/** The JSON payload every contender's jobs carry (about 60 bytes). */
export const PAYLOAD_SQL = `jsonb_build_object('orderId', 'order-' || g, 'amount', g, 'currency', 'EUR')`;

/**
 * Writes `n` rows into an outbox-shaped table in one transaction, refreshes its statistics in that
 * transaction (ANALYZE sees its own uncommitted rows), and NOTIFYs `channel` at commit.
 */
export async function seedOutbox(db: pg.Client, table: string, n: number, channel?: string): Promise<void> {
  await inTransaction(db, async () => {
    await db.query(
      `INSERT INTO ${table} (destination, subscriber, type, payload, headers, next_attempt_at)
       SELECT 'noop', '', 'OrderPlaced', ${PAYLOAD_SQL}, '{}'::jsonb, now() FROM generate_series(1, $1) g`,
      [n],
    );
    await db.query(`ANALYZE ${table}`);
    if (channel) await db.query('SELECT pg_notify($1, $2)', [channel, '']);
  });
}

export async function countUndelivered(db: pg.Client, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE delivered_at IS NULL`);
  return rows[0]!.n;
}

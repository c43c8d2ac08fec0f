import { connectClient } from '../../support/pg-client.js';
import type { DrainContender } from './contender.interface.js';
import { countUndelivered, seedOutbox } from './outbox-seed.js';

/** How the hand-written loop acknowledges a delivered row. */
export type RawAck = 'mark' | 'delete';

/** The bench's own copy of the 0.1 outbox table, whatever the library's tables become. */
export const CLAIM_MARK_TABLE = 'bench_claim_mark_outbox';
const SCHEMA = 'bench_relay_raw';
const OUTBOX = `${SCHEMA}.${CLAIM_MARK_TABLE}`;
const LEASE_MS = 30_000;

/** Shape of the hand-written loop. */
export interface RawParams {
  readonly batch: number;
  readonly ack: RawAck;
  /**
   * false: claim, handle, acknowledge, then claim again, on one connection. true: acknowledgements
   * go out on a second connection while the next batch is claimed (as the relay overlaps them).
   */
  readonly pipelined: boolean;
  /** Named (prepared) statements: parsed and planned once per connection. */
  readonly prepared: boolean;
}

/**
 * Creates (if missing) the copy of Flowbus 0.1's `flowbus_outbox`: same columns, defaults and
 * indexes as its migration 0001 (names prefixed), in the bench's own schema.
 */
export async function createClaimMarkTable(db: { query(text: string): Promise<unknown> }): Promise<string> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await db.query(`
    CREATE TABLE IF NOT EXISTS ${OUTBOX} (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      seq bigint GENERATED ALWAYS AS IDENTITY,
      destination text NOT NULL,
      subscriber text NOT NULL DEFAULT '',
      type text NOT NULL,
      key text,
      payload jsonb NOT NULL,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      attempts integer NOT NULL DEFAULT 0,
      errors jsonb NOT NULL DEFAULT '[]'::jsonb,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      locked_until timestamptz,
      lock_owner text,
      delivered_at timestamptz)`);
  await db.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${CLAIM_MARK_TABLE}_seq ON ${OUTBOX} (seq)`);
  await db.query(
    `CREATE INDEX IF NOT EXISTS ${CLAIM_MARK_TABLE}_due ON ${OUTBOX} (next_attempt_at, seq) WHERE delivered_at IS NULL`,
  );
  await db.query(
    `CREATE INDEX IF NOT EXISTS ${CLAIM_MARK_TABLE}_key_order ON ${OUTBOX} (destination, subscriber, key, seq)
     WHERE delivered_at IS NULL AND key IS NOT NULL`,
  );
  await db.query(
    `CREATE INDEX IF NOT EXISTS ${CLAIM_MARK_TABLE}_delivered ON ${OUTBOX} (delivered_at) WHERE delivered_at IS NOT NULL`,
  );
  return OUTBOX;
}

/**
 * The ceiling of the 0.1 design: a hand-written `pg` loop over the bench's own copy of the 0.1
 * outbox table (`bench_claim_mark_outbox`, see `createClaimMarkTable`).
 * Claim a batch (SKIP LOCKED, lease and owner written), run the no-op handler on every row,
 * mark the batch delivered fenced by the owner (or delete it), until a claim comes back empty.
 * No per-key ordering, retries, breaker, concurrency bound or error handling.
 */
export function rawPgContender(p: RawParams): DrainContender {
  return {
    reset: async (db) => {
      await createClaimMarkTable(db);
      await db.query(`TRUNCATE ${OUTBOX}`);
    },
    seed: (db, n) => seedOutbox(db, OUTBOX, n),
    remaining: (db) => countUndelivered(db, OUTBOX),
    startConsumer: async (url, handled) => {
      const client = await connectClient(url);
      const acker = p.pipelined ? await connectClient(url) : client;
      const owner = `raw:${process.pid}`;
      const claim = `
        WITH due AS (
          SELECT id FROM ${OUTBOX}
          WHERE delivered_at IS NULL AND next_attempt_at <= $1
          ORDER BY next_attempt_at, seq LIMIT $4
          FOR UPDATE SKIP LOCKED)
        UPDATE ${OUTBOX} o SET locked_until = $2, next_attempt_at = $2, lock_owner = $3
        FROM due WHERE o.id = due.id
        RETURNING o.id, o.type, o.payload, o.headers, o.attempts`;
      const ack =
        p.ack === 'mark'
          ? `UPDATE ${OUTBOX} SET delivered_at = $3, locked_until = NULL, lock_owner = NULL
             WHERE id = ANY($1::uuid[]) AND lock_owner = $2`
          : `DELETE FROM ${OUTBOX} WHERE id = ANY($1::uuid[]) AND lock_owner = $2`;
      const noop = () => {
        handled();
        return Promise.resolve();
      };
      const named = (name: string, text: string, values: unknown[]) =>
        p.prepared ? { name: `raw-${name}`, text, values } : { text, values };
      const drain = async () => {
        let acking: Promise<unknown> = Promise.resolve();
        for (;;) {
          const now = Date.now();
          const { rows } = await client.query<{ id: string }>(
            named('claim', claim, [new Date(now), new Date(now + LEASE_MS), owner, p.batch]),
          );
          if (rows.length === 0) break;
          await Promise.all(rows.map(noop));
          const values: unknown[] = [rows.map((r) => r.id), owner];
          if (p.ack === 'mark') values.push(new Date());
          // pg queues queries per connection: pipelined acknowledgements run one after another.
          acking = acker.query(named('ack', ack, values));
          if (!p.pipelined) await acking;
        }
        await acking;
      };
      let running: Promise<void> = Promise.resolve();
      return {
        go: async () => {
          running = drain();
        },
        pause: () => running,
        close: async () => {
          await client.end();
          if (acker !== client) await acker.end();
        },
      };
    },
  };
}

import { escapeLiteral } from 'pg';
import type { QueryRunner } from 'typeorm';
import { quoteSchema, table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/** Generations of the log (see LOG_GENERATIONS in log.queries): a ring, as PgQ rotates its tables. */
const GENERATIONS = 3;
/** Partitions of the log rows by key (see 0004-log.migration). */
const PARTITIONS = 16;

/**
 * Retention of the log by rotating generations instead of deleting rows (issue 12). Released
 * migrations are never edited: this one replaces 0004's `flowbus_log` by a table LIST-partitioned
 * on `gen`, with one partition per generation (`flowbus_log_g0`…), and keeps the rows already
 * there (in generation 0, with their `txid` and `seq`, so ticks and cursors stay valid).
 *
 * - `flowbus_log_gen`: one row per generation. The current one (`closed_at` null) receives the
 *   inserts; `flowbus_log_rotate()` closes it and opens the next, and empties a closed one with
 *   TRUNCATE once every cursor has consumed it (`truncated_at`).
 * - The columns keep 0004's order (`txid` before `seq`: the ticks rely on it); `gen` comes last. Its
 *   default reads the current generation (for inserts that do not name it); the writer names it
 *   itself with one sub-select per statement.
 * - No primary key: a partitioned table's key must include `gen`, and seqs are unique anyway (one
 *   identity). The index on `seq` is what the page function walks in each partition.
 */
export class LogGenerations0007Migration extends FlowbusMigration {
  readonly id = 7;
  readonly name = 'FlowbusLogGenerations1763769600007';

  async up(q: QueryRunner): Promise<void> {
    const s = this.schema;
    const log = table(s, 'flowbus_log');
    const old = table(s, 'flowbus_log_v1');
    const gens = table(s, 'flowbus_log_gen');
    await q.query(`ALTER TABLE ${log} RENAME TO "flowbus_log_v1"`);
    await q.query(`ALTER SEQUENCE ${table(s, 'flowbus_log_seq')} RENAME TO "flowbus_log_v1_seq"`);
    await q.query(`ALTER INDEX ${table(s, 'flowbus_log_pkey')} RENAME TO "flowbus_log_v1_pkey"`);
    await q.query(`
      CREATE TABLE ${gens} (
        gen smallint PRIMARY KEY,
        opened_at timestamptz,
        closed_at timestamptz,
        truncated_at timestamptz
      )`);
    // Generation 0 current (it receives the rows kept from 0004); the others empty, ready to open.
    await q.query(`INSERT INTO ${gens} (gen, opened_at, closed_at, truncated_at)
      SELECT g, now(), CASE WHEN g = 0 THEN NULL ELSE now() END, CASE WHEN g = 0 THEN NULL ELSE now() END
      FROM generate_series(0, ${GENERATIONS - 1}) g`);
    await q.query(`
      CREATE FUNCTION ${quoteSchema(s)}.flowbus_log_current_gen() RETURNS smallint
      LANGUAGE sql STABLE AS $fn$ SELECT gen FROM ${gens} WHERE closed_at IS NULL $fn$`);
    await q.query(`
      CREATE TABLE ${log} (
        ${logColumns(s, '')},
        gen smallint NOT NULL DEFAULT ${quoteSchema(s)}.flowbus_log_current_gen()
      ) PARTITION BY LIST (gen)`);
    for (let g = 0; g < GENERATIONS; g++) {
      await q.query(`CREATE TABLE ${table(s, `flowbus_log_g${g}`)} PARTITION OF ${log} FOR VALUES IN (${g})`);
    }
    await q.query(`CREATE INDEX flowbus_log_by_seq ON ${log} (seq)`);
    // The new identity continues where the old one stopped: ticks compare seqs across the upgrade.
    await q.query(`SELECT setval(${escapeLiteral(`${quoteSchema(s)}."flowbus_log_seq"`)}, last_value, is_called)
      FROM ${table(s, 'flowbus_log_v1_seq')}`);
    await q.query(`INSERT INTO ${log} (txid, seq, id, destination, type, key, payload, headers, available_at, created_at, gen)
      OVERRIDING SYSTEM VALUE
      SELECT txid, seq, id, destination, type, key, payload, headers, available_at, created_at, 0 FROM ${old}`);
    await q.query(carryGrants(s));
    await q.query(`DROP TABLE ${old}`);
    await q.query(genReadFunction(s));
    await q.query(rotateFunction(s));
  }

  async down(q: QueryRunner): Promise<void> {
    const s = this.schema;
    const log = table(s, 'flowbus_log');
    await q.query(`DROP FUNCTION IF EXISTS ${quoteSchema(s)}.flowbus_log_rotate`);
    await q.query(`DROP FUNCTION IF EXISTS ${quoteSchema(s)}.flowbus_log_gen_read`);
    await q.query(`ALTER TABLE ${log} RENAME TO "flowbus_log_v2"`);
    await q.query(`ALTER SEQUENCE ${table(s, 'flowbus_log_seq')} RENAME TO "flowbus_log_v2_seq"`);
    // 0004's table, as it created it.
    await q.query(`CREATE TABLE ${log} (${logColumns(s, 'PRIMARY KEY')})`);
    await q.query(`SELECT setval(${escapeLiteral(`${quoteSchema(s)}."flowbus_log_seq"`)}, last_value, is_called)
      FROM ${table(s, 'flowbus_log_v2_seq')}`);
    await q.query(`INSERT INTO ${log} (txid, seq, id, destination, type, key, payload, headers, available_at, created_at)
      OVERRIDING SYSTEM VALUE
      SELECT txid, seq, id, destination, type, key, payload, headers, available_at, created_at
      FROM ${table(s, 'flowbus_log_v2')} ORDER BY seq`);
    await q.query(`DROP TABLE ${table(s, 'flowbus_log_v2')}`);
    await q.query(`DROP FUNCTION IF EXISTS ${quoteSchema(s)}.flowbus_log_current_gen()`);
    await q.query(`DROP TABLE IF EXISTS ${table(s, 'flowbus_log_gen')}`);
  }
}

/**
 * `flowbus_log_gen_read(gen, max_seq, floor_seq, snap)`: whether a cursor at the tick
 * (floor_seq, snap) has read every row of generation `gen` up to `max_seq`. Rows at or below the
 * tick's floor_seq are visible in its snapshot (see flowbus_tick), so only the rows above it are
 * looked at, by seq in the generation's partition; usually none (the floor is past the
 * generation). The floor alone would do but trails the snapshot: it waits for every transaction
 * of the server older than the tick, so a long one elsewhere would make a cursor that has read
 * everything look behind.
 */
function genReadFunction(s: string): string {
  return `
    CREATE FUNCTION ${quoteSchema(s)}.flowbus_log_gen_read(
      p_gen smallint, p_max bigint, p_floor bigint, p_snap pg_snapshot) RETURNS boolean
    LANGUAGE sql STABLE AS $fn$
      SELECT p_max IS NULL OR p_max <= p_floor OR NOT EXISTS (
        SELECT 1 FROM ${table(s, 'flowbus_log')} l
        WHERE l.gen = p_gen AND l.seq > p_floor AND l.seq <= p_max AND NOT pg_visible_in_snapshot(l.txid, p_snap))
    $fn$`;
}

/**
 * `flowbus_log_rotate(now, retention, rotate)`: one retention step (see rotateLog in log.queries),
 * serialised across instances (a second caller returns at once; the first does the work).
 *
 * 1. Empties each closed generation, oldest first, that was closed at least `retention` ago and
 *    whose rows every cursor has read (see flowbus_log_gen_read). The partition is locked ACCESS
 *    EXCLUSIVE *before* its rows are looked at: a transaction that has inserted into it holds a
 *    lock on it until it ends, so once the lock is held every row in it is committed (or rolled
 *    back) and seen. A writer that read the generation before it was closed and inserts only now
 *    waits for the lock and writes into the emptied partition: its rows are kept and read like any
 *    other (the ticks read every partition), and hold that generation until they are read.
 *    The lock is tried for a short while (lock_timeout): readers queue behind a waiting ACCESS
 *    EXCLUSIVE, and a busy partition is simply tried again at the next sweep.
 * 2. Switches to the next generation when the current one was opened at least `rotate` ago, holds
 *    rows, and the next one is empty. A subscriber that stops reading keeps a closed generation
 *    from being emptied, so the ring stops turning and the current generation grows: the history
 *    then costs what a DELETE-free log costs until the subscriber reads on or is retired.
 * Times come from the caller (the app's clock), so tests can move them.
 */
function rotateFunction(s: string): string {
  const gens = table(s, 'flowbus_log_gen');
  const log = table(s, 'flowbus_log');
  const tick = table(s, 'flowbus_tick');
  const cursor = table(s, 'flowbus_cursor');
  const prefix = escapeLiteral(`${quoteSchema(s)}.`);
  return `
    CREATE OR REPLACE FUNCTION ${quoteSchema(s)}.flowbus_log_rotate(
      p_now timestamptz, p_retention interval, p_rotate interval)
    RETURNS TABLE (truncated smallint[], switched_to smallint)
    LANGUAGE plpgsql VOLATILE
    SET lock_timeout = '200ms'
    AS $fn$
    DECLARE
      v_gen smallint;
      v_max bigint;
      v_cur record;
      v_next smallint;
      v_done boolean := false;
    BEGIN
      truncated := '{}';
      IF NOT pg_try_advisory_xact_lock(hashtextextended(${escapeLiteral(`flowbus_rotate:${s}`)}, 0)) THEN
        RETURN NEXT;
        RETURN;
      END IF;
      FOR v_gen IN SELECT gen FROM ${gens}
          WHERE closed_at IS NOT NULL AND truncated_at IS NULL AND closed_at <= p_now - p_retention
          ORDER BY closed_at LOOP
        BEGIN
          EXECUTE format('LOCK TABLE %s%I IN ACCESS EXCLUSIVE MODE', ${prefix}, 'flowbus_log_g' || v_gen);
          SELECT max(seq) INTO v_max FROM ${log} WHERE gen = v_gen;
          -- Read by every cursor; with no cursor at all, by the latest tick (where a new one starts).
          IF v_max IS NULL OR (EXISTS (SELECT 1 FROM ${tick}) AND NOT EXISTS (
              SELECT 1 FROM ${tick} t
              WHERE t.id IN (SELECT DISTINCT tick_id FROM ${cursor}
                  UNION ALL SELECT max(id) FROM ${tick} WHERE NOT EXISTS (SELECT 1 FROM ${cursor}))
                AND NOT ${quoteSchema(s)}.flowbus_log_gen_read(v_gen, v_max, t.floor_seq, t.snap))) THEN
            EXECUTE format('TRUNCATE %s%I', ${prefix}, 'flowbus_log_g' || v_gen);
            UPDATE ${gens} SET truncated_at = p_now WHERE gen = v_gen;
            truncated := truncated || v_gen;
          ELSE
            v_done := true;
          END IF;
        EXCEPTION WHEN lock_not_available THEN
          v_done := true;
        END;
        EXIT WHEN v_done;
      END LOOP;
      SELECT gen, opened_at INTO v_cur FROM ${gens} WHERE closed_at IS NULL;
      v_next := (v_cur.gen + 1) % ${GENERATIONS};
      IF v_cur.opened_at <= p_now - p_rotate
          AND EXISTS (SELECT 1 FROM ${gens} WHERE gen = v_next AND truncated_at IS NOT NULL)
          AND EXISTS (SELECT 1 FROM ${log} WHERE gen = v_cur.gen) THEN
        UPDATE ${gens} SET closed_at = p_now WHERE gen = v_cur.gen;
        UPDATE ${gens} SET opened_at = p_now, closed_at = NULL, truncated_at = NULL WHERE gen = v_next;
        switched_to := v_next;
      END IF;
      RETURN NEXT;
    END
    $fn$`;
}

/** 0004's columns of the log, in its order (`txid` before `seq`: the ticks rely on it). */
function logColumns(s: string, seqConstraint: string): string {
  return `
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME ${table(s, 'flowbus_log_seq')}) ${seqConstraint},
    id uuid NOT NULL,
    destination text,
    type text NOT NULL,
    key text,
    part smallint NOT NULL GENERATED ALWAYS AS
      (abs(hashtextextended(COALESCE(key, id::text), 0) % ${PARTITIONS})::smallint) STORED,
    payload jsonb NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    available_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()`;
}

/**
 * The roles granted the old table keep their access: its grants are given on the new table and
 * its sequence's on the new sequence; a role that could DELETE from it (the retention sweep) may
 * now switch and empty generations, and a role that could INSERT reads the current generation.
 */
function carryGrants(s: string): string {
  const gens = table(s, 'flowbus_log_gen');
  const parts = Array.from({ length: GENERATIONS }, (_, g) => table(s, `flowbus_log_g${g}`)).join(', ');
  const acl = (from: string) => `
    SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(a.grantee::regrole::text) END AS role,
      a.privilege_type AS privilege
    FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.oid = ${escapeLiteral(from)}::regclass AND a.grantee <> c.relowner`;
  return `DO $do$ DECLARE r record; BEGIN
    FOR r IN ${acl(table(s, 'flowbus_log_v1'))} LOOP
      EXECUTE format('GRANT %s ON ${table(s, 'flowbus_log')} TO %s', r.privilege, r.role);
      IF r.privilege = 'INSERT' THEN
        EXECUTE format('GRANT SELECT ON ${gens} TO %s', r.role);
      ELSIF r.privilege = 'DELETE' THEN
        EXECUTE format('GRANT SELECT, UPDATE ON ${gens} TO %s', r.role);
        EXECUTE format('GRANT TRUNCATE ON ${parts} TO %s', r.role);
      END IF;
    END LOOP;
    FOR r IN ${acl(table(s, 'flowbus_log_v1_seq'))} LOOP
      EXECUTE format('GRANT %s ON SEQUENCE ${table(s, 'flowbus_log_seq')} TO %s', r.privilege, r.role);
    END LOOP;
  END $do$`;
}

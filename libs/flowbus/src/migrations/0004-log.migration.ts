import type { QueryRunner } from 'typeorm';
import { quoteSchema, table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/** Partitions of the log: the unit a relay leases per subscriber (see LOG_PARTITIONS in log.queries). */
const PARTITIONS = 16;

/**
 * Outbox storage v2 (issue #9): an append-only log read through snapshot ticks, with a cursor per
 * (subscriber, partition). Released: never edit, add a new migration instead.
 *
 * - `flowbus_log`: one row per message, written once. `txid` is the writing transaction's
 *   top-level id (`pg_current_xact_id()`, never `xmin`, which differs inside savepoints). It is
 *   the first column so its default is evaluated, and the xid assigned, before the identity's
 *   `nextval`: the ticks' seq bounds rely on a row's seq being taken after its xid (see
 *   flowbus_tick). `part` spreads keys (and keyless rows by id) over the partitions.
 * - `flowbus_tick`: PgQ-style snapshot ticks. A batch for a cursor is the rows visible in tick b
 *   and not in tick a, searched in the seq window (a.floor_seq, b.hi_seq] (see flowbus_tick).
 * - `flowbus_cursor`: the tick each (subscriber, part) has consumed, with a fenced lease: `epoch`
 *   is bumped on every takeover, so an advance by a stale owner matches no row. Tiny rows updated
 *   per batch: fillfactor leaves room for HOT updates (no index covers the updated columns).
 */
export class Log0004Migration extends FlowbusMigration {
  readonly id = 4;
  readonly name = 'FlowbusLog1763769600004';

  async up(q: QueryRunner): Promise<void> {
    const s = this.schema;
    const log = table(s, 'flowbus_log');
    const tick = table(s, 'flowbus_tick');
    const cursor = table(s, 'flowbus_cursor');
    const seq = `${quoteSchema(s)}."flowbus_log_seq"`;
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${log} (
        txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        seq bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME ${seq}) PRIMARY KEY,
        id uuid NOT NULL,
        destination text,
        type text NOT NULL,
        key text,
        part smallint NOT NULL GENERATED ALWAYS AS
          (abs(hashtextextended(COALESCE(key, id::text), 0) % ${PARTITIONS})::smallint) STORED,
        payload jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        available_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${tick} (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        snap pg_snapshot NOT NULL,
        marker xid8 NOT NULL,
        lo_seq bigint NOT NULL,
        hi_seq bigint NOT NULL,
        floor_seq bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX IF NOT EXISTS flowbus_tick_marker ON ${tick} (marker, id)`);
    await q.query(`
      CREATE TABLE IF NOT EXISTS ${cursor} (
        subscriber text NOT NULL,
        part smallint NOT NULL,
        tick_id bigint NOT NULL,
        owner text,
        epoch bigint NOT NULL DEFAULT 0,
        lease_until timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscriber, part)
      ) WITH (fillfactor = 50)`);
    // One tick, serialised with the others (a transaction-scoped advisory lock), so ticks are
    // totally ordered by their snapshots. Each statement of a READ COMMITTED plpgsql function
    // takes a fresh snapshot, which gives the reads their order:
    //   lo_seq   the sequence's last value, read first;
    //   marker   then the tick's own xid (pg_current_xact_id() assigns it): a transaction whose xid
    //            is > marker got it after lo_seq was read, and takes its seqs after its xid (txid
    //            is the log's first column, its default evaluated before the identity's), so its
    //            rows have seq > lo_seq;
    //   snapshot + hi_seq in one statement: a row visible in the snapshot took its seq before its
    //            commit, before the snapshot, so its seq <= hi_seq;
    //   floor_seq = lo_seq of the newest earlier tick t with t.marker < this snapshot's xmin: a row
    //            invisible here has an xid >= xmin > t.marker, so its seq > floor_seq.
    // Not the snapshot's xmax for the marker: xmax is one past the latest *completed* xid, and a
    // transaction with a larger xid may already be running (and have taken its seqs) when the
    // snapshot is taken; a floor from it loses that transaction's rows (found by the two-relay test).
    // Refused inside a transaction that has an xid: its snapshot counts that transaction as
    // visible, so its rows, committed later, would be in no batch and never be delivered.
    await q.query(`
      CREATE OR REPLACE FUNCTION ${quoteSchema(s)}.flowbus_tick() RETURNS bigint
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_lo bigint;
        v_hi bigint;
        v_snap pg_snapshot;
        v_floor bigint;
        v_marker xid8;
        v_id bigint;
      BEGIN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
          RAISE EXCEPTION 'flowbus_tick() refused: it must run in its own transaction, not in one that has written (xid %)',
            pg_current_xact_id_if_assigned() USING ERRCODE = '55000';
        END IF;
        PERFORM pg_advisory_xact_lock(hashtextextended(${quoteLiteral(`flowbus_tick:${s}`)}, 0));
        SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO v_lo FROM ${seq};
        v_marker := pg_current_xact_id();
        SELECT pg_current_snapshot(), CASE WHEN is_called THEN last_value ELSE last_value - 1 END
          INTO v_snap, v_hi FROM ${seq};
        SELECT lo_seq INTO v_floor FROM ${tick}
          WHERE marker < pg_snapshot_xmin(v_snap) ORDER BY marker DESC, id DESC LIMIT 1;
        INSERT INTO ${tick} (snap, marker, lo_seq, hi_seq, floor_seq)
          VALUES (v_snap, v_marker, v_lo, v_hi, COALESCE(v_floor, 0))
          RETURNING id INTO v_id;
        RETURN v_id;
      END
      $fn$`);
    // One page of a batch (see logPage in outbox/log.queries). A function only to carry its planner
    // settings: estimates from missing or stale statistics (a table never analysed, a burst since
    // the last ANALYZE) make PostgreSQL believe the window holds a row or two and pick a bitmap
    // scan plus a sort of the whole window, per page: paging a 300k-row window goes quadratic.
    // With bitmap scans and sorts off, the only plan left is the primary key walked in order
    // under the LIMIT, whatever the statistics say. plpgsql keeps the plan per connection.
    await q.query(`
      CREATE OR REPLACE FUNCTION ${quoteSchema(s)}.flowbus_log_page(
        p_after bigint, p_hi bigint, p_snap_a pg_snapshot, p_snap_b pg_snapshot,
        p_destination text, p_types text[], p_parts smallint[], p_limit integer)
      RETURNS TABLE (seq bigint, id uuid, destination text, type text, key text, part smallint,
        payload jsonb, headers jsonb, available_at timestamptz, created_at timestamptz)
      LANGUAGE plpgsql STABLE
      SET enable_bitmapscan = off SET enable_sort = off
      AS $fn$
      BEGIN
        RETURN QUERY
          SELECT l.seq, l.id, l.destination, l.type, l.key, l.part, l.payload, l.headers, l.available_at, l.created_at
          FROM ${log} l
          WHERE l.seq > p_after AND l.seq <= p_hi
            AND (l.destination = p_destination OR (l.destination IS NULL AND l.type = ANY(p_types)))
            AND (p_parts IS NULL OR l.part = ANY(p_parts))
            AND pg_visible_in_snapshot(l.txid, p_snap_b)
            AND NOT pg_visible_in_snapshot(l.txid, p_snap_a)
          ORDER BY l.seq LIMIT p_limit;
      END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = this.schema;
    await q.query(`DROP FUNCTION IF EXISTS ${quoteSchema(s)}.flowbus_log_page`);
    await q.query(`DROP FUNCTION IF EXISTS ${quoteSchema(s)}.flowbus_tick()`);
    await q.query(`DROP TABLE IF EXISTS ${table(s, 'flowbus_cursor')}`);
    await q.query(`DROP TABLE IF EXISTS ${table(s, 'flowbus_tick')}`);
    await q.query(`DROP TABLE IF EXISTS ${table(s, 'flowbus_log')}`);
  }
}

/** The schema name is validated by quoteSchema; a literal of it needs no further escaping. */
function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

import type { QueryRunner } from 'typeorm';
import { table } from '../database/sql-identifiers.js';
import { FlowbusMigration } from './flowbus-migration.js';

/**
 * Partial progress of a log cursor (issue 12): a long batch, the rows committed between the
 * cursor's tick and a later one, is recorded part by part. `window_end` is that later tick (the
 * batch's end) and `done_seq` the last seq of the window delivered so far: the rows of the window
 * (tick_id, window_end] at or below it are done, and a relay that takes the cursor over resumes
 * the window after it, then carries on from `window_end`. Both are NULL for a cursor between
 * batches (every existing cursor on upgrade). A window's end tick is newer than the cursor's own
 * tick, so pruning ticks older than every cursor's tick keeps it. Released: never edit, add a new
 * migration instead.
 */
export class CursorProgress0009Migration extends FlowbusMigration {
  readonly id = 9;
  readonly name = 'FlowbusCursorProgress1763769600009';

  async up(q: QueryRunner): Promise<void> {
    // Nullable columns without a default: no table rewrite, the cursors stay where they are.
    await q.query(`ALTER TABLE ${table(this.schema, 'flowbus_cursor')}
      ADD COLUMN IF NOT EXISTS window_end bigint, ADD COLUMN IF NOT EXISTS done_seq bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    // A partial window is given up: its cursor delivers the whole window again (at least once).
    await q.query(`ALTER TABLE ${table(this.schema, 'flowbus_cursor')}
      DROP COLUMN IF EXISTS window_end, DROP COLUMN IF EXISTS done_seq`);
  }
}

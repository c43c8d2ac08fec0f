import type { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { rowsOf } from '../database/run-query.js';
import { TransactionConflict } from '../database/transaction-conflict.js';
import type { CommitWatcher } from '../outbox/commit-watcher.js';
import type { OutboxRows } from '../outbox/outbox-rows.js';
import { appendToLog, type LogInsertRow } from '../outbox/log.queries.js';
import { insertMessages, type OutboxInsertRow } from '../outbox/outbox.queries.js';
import type { PayloadCodec } from '../outbox/payload-codec.js';
import { notifyChannel, type OutboxService } from '../outbox/outbox.service.js';
import type { StepContext } from './step-context.js';
import type { OutboxMessage } from '../outbox/outbox-message.interface.js';
import type { StepBatch } from './step-batch.js';
import {
  deleteTimeoutsOf,
  deleteTimeoutTypes,
  insertSagas,
  updateSagas,
  upsertTimeouts,
  combineWrites,
  type WritePart,
} from './saga.queries.js';

/** Outbox rows written within the statement that saves a batch; more go through OutboxService. */
const MAX_INLINE_OUTBOX_ROWS = 4000;

/** Another step saved the instance first (or created it concurrently): rerun on a fresh load. */
export class VersionConflict extends TransactionConflict {
  constructor() {
    super('a saga instance was saved or created concurrently');
  }
}

/** Writes what a batch of steps recorded in their contexts, in the batch's transaction. */
export class SagaPersistence {
  constructor(
    private readonly schema: string,
    private readonly outbox: OutboxService,
    private readonly rows: OutboxRows,
    private readonly codec: PayloadCodec,
    private readonly commits: CommitWatcher,
    /** `relay.notify`: wake relays in other instances at commit. */
    private readonly notify: boolean,
    /** `relay.storage`: where the messages of the steps go. */
    private readonly storage: 'table' | 'log' = 'table',
  ) {}

  /**
   * Builds (and so checks) the outbox rows of what a step published and sent, into
   * `ctx.outboxRows`. Compensations the step recorded are checked too, now: a compensation for a
   * type nobody subscribes to would otherwise only fail when the saga compensates.
   */
  async prepare(ctx: StepContext<object>, manager: EntityManager): Promise<void> {
    if (!ctx.compensating && ctx.compensations.length > ctx.savedCompensations) {
      await this.rows.forMessages(ctx.compensations.slice(ctx.savedCompensations), manager);
    }
    const messages = ctx.outgoing();
    if (this.storage === 'log') {
      const published = ctx.published.length > 0 ? await this.rows.logRowsForEvents(ctx.published, {}, manager) : [];
      const sentRows = messages.length > 0 ? await this.rows.logRowsForMessages(messages, manager) : [];
      ctx.logRows = [...published, ...sentRows];
      return;
    }
    const events = ctx.published.length > 0 ? await this.rows.forEvents(ctx.published, {}, manager) : [];
    const sent = messages.length > 0 ? await this.rows.forMessages(messages, manager) : [];
    ctx.outboxRows = events.length === 0 ? sent : sent.length === 0 ? events : [...events, ...sent];
  }

  /**
   * Writes what a batch of steps recorded in one statement (combineWrites), a CTE per kind of
   * change: instances updated and created, timeouts dropped, cancelled and scheduled, and the
   * outbox rows of the events published and messages sent (past MAX_INLINE_OUTBOX_ROWS, those go
   * through OutboxService in chunks instead). Throws VersionConflict when an instance was saved
   * or created concurrently.
   */
  async saveBatch(sagaName: string, batch: StepBatch, manager: EntityManager, now: Date): Promise<void> {
    const parts: WritePart[] = [];
    const { ids, updates, inserts } = batch.writes();
    if (ids.length > 0) {
      parts.push({ name: 'updated', query: updateSagas(this.schema, { ids, writes: updates, now }), counted: true });
    }
    if (inserts.correlationIds.length > 0) {
      const query = insertSagas(this.schema, { name: sagaName, writes: inserts, now });
      parts.push({ name: 'created', query, counted: true });
    }

    // Timeouts: replay the steps' requests in order, keeping the last word per instance and type.
    const dropped = new Set<string>();
    const scheduled = new Map<string, { correlationId: string; type: string; payload: string; dueAt: Date }>();
    const cancelled = new Map<string, { correlationId: string; type: string }>();
    const events: object[] = [];
    const messages: OutboxMessage[] = [];
    const rows: OutboxInsertRow[] = [];
    const logRows: LogInsertRow[] = [];
    for (const ctx of batch.applied) {
      const id = ctx.correlationId;
      if (ctx.finished) {
        dropped.add(id);
        for (const map of [scheduled, cancelled])
          for (const k of map.keys()) if (k.startsWith(`${id}\u0000`)) map.delete(k);
      } else {
        for (const type of ctx.cancelled) {
          scheduled.delete(`${id}\u0000${type}`);
          cancelled.set(`${id}\u0000${type}`, { correlationId: id, type });
        }
        for (const t of ctx.scheduled.values()) {
          cancelled.delete(`${id}\u0000${t.type}`);
          scheduled.set(`${id}\u0000${t.type}`, {
            correlationId: id,
            type: t.type,
            payload: this.codec.stringify(t.payload) ?? '{}',
            dueAt: t.dueAt,
          });
        }
      }
      events.push(...ctx.published);
      messages.push(...ctx.outgoing());
      rows.push(...ctx.outboxRows);
      logRows.push(...ctx.logRows);
    }
    // The CTEs see one snapshot, so no two of them may touch one row: a key is either dropped,
    // cancelled or scheduled here, never two of these.
    if (dropped.size > 0) {
      parts.push({ name: 'dropped', query: deleteTimeoutsOf(this.schema, sagaName, [...dropped]), counted: false });
    }
    if (cancelled.size > 0) {
      const list = [...cancelled.values()];
      const query = deleteTimeoutTypes(
        this.schema,
        sagaName,
        list.map((c) => c.correlationId),
        list.map((c) => c.type),
      );
      parts.push({ name: 'cancelled', query, counted: false });
    }
    if (scheduled.size > 0) {
      const list = [...scheduled.values()];
      const query = upsertTimeouts(this.schema, {
        name: sagaName,
        correlationIds: list.map((t) => t.correlationId),
        types: list.map((t) => t.type),
        tokens: list.map(() => randomUUID()),
        payloads: list.map((t) => t.payload),
        dueAts: list.map((t) => t.dueAt),
      });
      parts.push({ name: 'scheduled', query, counted: false });
    }
    const inline = rows.length > 0 && rows.length <= MAX_INLINE_OUTBOX_ROWS;
    if (inline) parts.push({ name: 'outbox', query: insertMessages(this.schema, rows, now), counted: false });
    // The log takes any number of rows in one statement of arrays: always inline.
    if (logRows.length > 0) parts.push({ name: 'log', query: appendToLog(this.schema, logRows), counted: false });
    const written = inline || logRows.length > 0;

    if (parts.length > 0) {
      const notify = written && this.notify ? notifyChannel(this.schema) : undefined;
      const [counts] = await rowsOf<Record<string, number>>(manager, combineWrites(parts, notify));
      if ((counts?.updated ?? 0) !== ids.length || (counts?.created ?? 0) !== inserts.correlationIds.length) {
        throw new VersionConflict();
      }
    }
    if (written) this.commits.track(manager.queryRunner!);
    else if (rows.length > 0) {
      // Too many for one statement's parameters: the outbox writes them in chunks.
      if (events.length > 0) await this.outbox.publish(manager, events);
      if (messages.length > 0) await this.outbox.enqueue(manager, messages);
    }
  }
}

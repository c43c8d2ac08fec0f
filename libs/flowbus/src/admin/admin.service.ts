import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { describeError } from '../errors/handler-failures.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { notify, type Query } from '../outbox/outbox.queries.js';
import { notifyChannel } from '../outbox/outbox.service.js';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import { BreakerRegistry } from '../relay/breaker.registry.js';
import { RelaySignal } from '../outbox/relay-signal.js';
import { FlowbusStats } from '../monitoring/flowbus-stats.js';
import { StallDiagnosis } from './stall-diagnosis.js';
import type { ResolvedAdminOptions } from './admin-options.interface.js';
import { FLOWBUS_ADMIN_OPTIONS } from './admin.constants.js';
import * as sql from './admin.queries.js';
import { retireSubscriber, subscriberLag, type RetireResult } from '../outbox/log.queries.js';
import { decodeCursor, encodeCursor, type CursorList } from './cursor.js';
import type { BulkRequeueDto } from './dto/bulk-requeue.dto.js';
import type { BulkRequeueResultDto, DeadLetterDetailDto, DeadLetterPageDto } from './dto/dead-letter.dto.js';
import type { ListDeadLettersQuery } from './dto/list-dead-letters.query.js';
import type { ListOutboxQuery } from './dto/list-outbox.query.js';
import type { ListSagasQuery } from './dto/list-sagas.query.js';
import type { OutboxMessageDetailDto, OutboxPageDto } from './dto/outbox-message.dto.js';
import type { SagaDetailDto, SagaPageDto } from './dto/saga.dto.js';
import type { BreakerDto, StatsDto } from './dto/stats.dto.js';
import type { HistoryDto } from './dto/history.dto.js';
import type { ConversationDto, ConversationMessageDto, SagaTimelineDto } from './dto/conversation.dto.js';
import { RecordNotFoundError } from '../errors/record-not-found.error.js';
import { StateConflictError } from '../errors/state-conflict.error.js';

const UNIQUE_VIOLATION = '23505';
/** The cursor of a page of `GET /outbox` that starts with the newest retry row (past the log's rows). */
const RETRIES_START = encodeCursor('outbox-retries', '9223372036854775807');

/**
 * What the admin controller does: reads for the dashboard and the few repairs an operator needs
 * (retry, requeue, delete). Single statements on the pool; none holds a transaction open.
 */
@Injectable()
export class AdminService implements OnModuleInit {
  private readonly logger = new Logger('Flowbus:Admin');
  private readonly pool: Pool;
  private readonly schema: string;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    @Inject(FLOWBUS_ADMIN_OPTIONS) private readonly admin: ResolvedAdminOptions,
    private readonly signal: RelaySignal,
    private readonly breakers: BreakerRegistry,
    private readonly durable: DurableHandlerRegistry,
    private readonly figures: FlowbusStats,
    private readonly diagnosis: StallDiagnosis,
  ) {
    this.pool = poolOf(dataSource);
    this.schema = options.schema;
  }

  onModuleInit(): void {
    const admin = this.admin;
    const access = admin.guard ? `guard ${admin.guard.name}` : 'bearer token';
    this.logger.log(`Admin API and dashboard at /${admin.path} (${access})`);
    if (admin.guard && admin.token) {
      this.logger.warn('The admin token is ignored: the guard is set and decides access to the admin API');
    }
  }

  async stats(): Promise<StatsDto> {
    const [f, lag] = await Promise.all([
      this.figures.read(),
      // Only with the log: a role granted the table storage's tables alone may not read the cursors.
      this.options.relay.storage === 'log'
        ? this.rows<{ subscriber: string; behindSeq: string; lagSeconds: number; blocksRetention: boolean }>(
            subscriberLag(this.schema, this.now(), this.options.relay.retentionMs),
          )
        : [],
    ]);
    const stalled = await this.diagnosis.causes(f.outbox.reduce((n, d) => n + d.pending + d.inFlight, 0));
    const sum = (k: 'pending' | 'inFlight' | 'delivered' | 'noSubscriberHere') =>
      f.outbox.reduce((n, d) => n + d[k], 0);
    const byStatus: Record<string, number> = Object.fromEntries(sql.SAGA_STATUSES.map((s) => [s, 0]));
    for (const s of f.sagas) byStatus[s.status] = (byStatus[s.status] ?? 0) + s.count;
    return {
      at: f.at.toISOString(),
      outbox: {
        pending: sum('pending'),
        inFlight: sum('inFlight'),
        delivered: sum('delivered'),
        noSubscriberHere: sum('noSubscriberHere'),
        oldestPendingAgeMs: f.oldestPendingAgeMs,
        byDestination: f.outbox,
        bySubscriber: f.subscribers,
      },
      deadLetters: { total: f.deadLetters.reduce((n, d) => n + d.count, 0), byDestination: f.deadLetters },
      sagas: { byStatus, byName: f.sagas, timeoutsPending: f.timeoutsPending },
      breakers: this.breakerStates(),
      subscribers: lag.map((l) => ({
        subscriber: l.subscriber,
        behindSeq: Number(l.behindSeq),
        lagSeconds: Math.max(0, l.lagSeconds),
        blocksRetention: l.blocksRetention,
      })),
      stalled,
    };
  }

  /**
   * Log storage: the log's deliveries (newest first), then the retry rows they do not show (log
   * row gone, or subscriber retired: see listOutboxRetries). Their seqs are of two sequences, so the cursor says which part a page
   * ended in (`outbox` or `outbox-retries`); a page that exhausts the log goes on with the retries.
   */
  async listOutbox(q: ListOutboxQuery): Promise<OutboxPageDto> {
    const log = this.logRoutes();
    const now = this.now();
    const retriesFrom = q.cursor === undefined ? undefined : decodeCursor('outbox-retries', q.cursor);
    // A cursor of the log's retries, kept across a switch back to the table storage: nothing to page.
    if (!log && retriesFrom !== undefined) return { items: [], nextCursor: null };
    let rows: Paged[] = [];
    if (retriesFrom === undefined) {
      const query = sql.listOutbox(this.schema, { ...q, now, before: this.seqOf('outbox', q.cursor), log });
      rows = (await this.rows(query)).map((r) => this.withSubscriberHere(r));
      if (log && rows.length > q.limit) {
        // A log row is an item per reader, all with its seq, and the cursor is a seq: a page ends
        // with the last whole log row (unless one row alone fills it).
        const cut = rows[q.limit]!.seq;
        const whole = rows.slice(0, q.limit).filter((r) => r.seq !== cut);
        if (whole.length > 0) rows = [...whole, rows[q.limit]!];
      }
      if (!log || rows.length > q.limit) return this.page('outbox', rows, q.limit);
    }
    // The log is exhausted: the rest of the page (and one more row, to tell whether there is a
    // next page) comes from the retries.
    const query = sql.listOutboxRetries(this.schema, { ...q, now, limit: q.limit - rows.length, before: retriesFrom });
    const retries = (await this.rows(query)).map((r) => this.withSubscriberHere(r));
    const items = [...rows, ...retries];
    if (items.length <= q.limit) return this.page('outbox-retries', items, q.limit);
    // The page ends with a log row: the next one starts with the retries, from the newest.
    if (rows.length === q.limit) return { ...this.page('outbox', rows, q.limit), nextCursor: RETRIES_START };
    return this.page('outbox-retries', items, q.limit);
  }

  async getOutbox(id: string): Promise<OutboxMessageDetailDto> {
    const log = this.logRoutes();
    let [row] = await this.rows<Paged>(sql.getOutbox(this.schema, id, this.now(), log));
    if (!row && log) [row] = await this.rows<Paged>(sql.getOutboxRetry(this.schema, id, this.now()));
    if (!row) throw new RecordNotFoundError('outbox message', id);
    return withoutSeq(this.withSubscriberHere(row)) as unknown as OutboxMessageDetailDto;
  }

  /** Makes a pending message due now. 409 when it is delivered or leased, 404 when unknown. */
  async retryOutbox(id: string): Promise<OutboxMessageDetailDto> {
    const [row] = await this.rows<Paged>(sql.retryOutbox(this.schema, id, this.now()));
    if (row) {
      await this.wake();
      return withoutSeq(this.withSubscriberHere(row)) as unknown as OutboxMessageDetailDto;
    }
    const current = await this.getOutbox(id);
    // Log storage: a delivery still in the log, not read yet, is due already.
    if (current.status === 'pending') return current;
    throw new StateConflictError(
      current.status === 'delivered'
        ? `Outbox message ${id} was delivered already`
        : `Outbox message ${id} is being delivered (leased until ${current.lockedUntil?.toISOString()})`,
    );
  }

  async listDeadLetters(q: ListDeadLettersQuery): Promise<DeadLetterPageDto> {
    const query = sql.listDeadLetters(this.schema, { ...q, before: this.seqOf('dead-letters', q.cursor) });
    return this.page('dead-letters', await this.rows(query), q.limit);
  }

  async getDeadLetter(id: string): Promise<DeadLetterDetailDto> {
    const [row] = await this.rows<Paged>(sql.getDeadLetter(this.schema, id));
    if (!row) throw new RecordNotFoundError('dead letter', id);
    return withoutSeq(row) as unknown as DeadLetterDetailDto;
  }

  /**
   * Moves a dead letter back to the outbox, due now, with its id. Of two concurrent requeues one
   * moves the row and the other gets 409; an id in neither table is 404.
   */
  async requeue(id: string): Promise<OutboxMessageDetailDto> {
    const moved = await this.move(sql.requeueDeadLetter(this.schema, id, this.now()));
    if (moved.length === 0) {
      const inOutbox = await this.rows(sql.outboxIdsAmong(this.schema, [id]));
      if (inOutbox.length === 0) throw new RecordNotFoundError('dead letter', id);
      throw new StateConflictError(`Dead letter ${id} was requeued already: the message is in the outbox`);
    }
    await this.wake();
    return this.getOutbox(id);
  }

  /** Requeues by ids or by a non-empty filter, at most BULK_REQUEUE_MAX per call. */
  async requeueMany(body: BulkRequeueDto): Promise<BulkRequeueResultDto> {
    const now = this.now();
    const filter = { destination: body.destination, type: body.type };
    const ids = body.ids ? [...new Set(body.ids.map((id) => id.toLowerCase()))] : undefined;
    let moved = await this.move(
      sql.requeueDeadLetters(this.schema, { now, ids, ...filter, limit: sql.BULK_REQUEUE_MAX }),
    );
    if (moved.length > 0) await this.wake();
    // Log storage: a message dead-lettered for several subscribers moves once per subscriber.
    moved = [...new Set(moved)];
    const movedSet = new Set(moved);
    let more = false;
    if (!ids) {
      const [row] = await this.rows<{ more: boolean }>(sql.deadLettersMatch(this.schema, filter));
      more = row?.more ?? false;
    }
    return { requeued: moved.length, ids: moved, skipped: ids ? ids.filter((id) => !movedSet.has(id)) : [], more };
  }

  async deleteDeadLetter(id: string): Promise<void> {
    const deleted = await this.rows(sql.deleteDeadLetter(this.schema, id));
    if (deleted.length === 0) throw new RecordNotFoundError('dead letter', id);
  }

  async listSagas(q: ListSagasQuery): Promise<SagaPageDto> {
    const query = sql.listSagas(this.schema, { ...q, before: this.seqOf('sagas', q.cursor) });
    return this.page('sagas', await this.rows(query), q.limit);
  }

  async getSaga(name: string, correlationId: string): Promise<SagaDetailDto> {
    const [row] = await this.rows<Paged>(sql.getSaga(this.schema, name, correlationId));
    if (!row) throw new RecordNotFoundError(`saga instance of "${name}" with correlation id`, `"${correlationId}"`);
    return withoutSeq(row) as unknown as SagaDetailDto;
  }

  /** Every message of a conversation, oldest first. 404 when no message carries the id. */
  async conversation(correlationId: string): Promise<ConversationDto> {
    const rows = await this.rows<ConversationMessageDto>(
      sql.conversation(this.schema, correlationId, this.now(), this.logRoutes()),
    );
    if (rows.length === 0) throw new RecordNotFoundError('conversation', `"${correlationId}"`);
    const truncated = rows.length > sql.CONVERSATION_MAX;
    const messages = rows.slice(0, sql.CONVERSATION_MAX);
    const sagas = [...new Set(messages.map((m) => m.saga).filter((s): s is string => s !== null))];
    return { correlationId, messages, sagas, truncated };
  }

  /** A saga instance's messages, received and sent, oldest first. 404 for an unknown instance. */
  async sagaTimeline(name: string, correlationId: string): Promise<SagaTimelineDto> {
    await this.getSaga(name, correlationId);
    const q = sql.sagaTimeline(this.schema, name, correlationId, this.now(), this.logRoutes());
    const rows = await this.rows<ConversationMessageDto>(q);
    const truncated = rows.length > sql.CONVERSATION_MAX;
    return { name, correlationId, messages: rows.slice(0, sql.CONVERSATION_MAX), truncated };
  }

  /**
   * Retires a log subscriber (see retireSubscriber in log.queries): 404 when no cursor has the name
   * (always on the table storage, which has no cursors), 409 while a running relay reads it.
   */
  async retireSubscriber(name: string): Promise<void> {
    if (this.options.relay.storage !== 'log') {
      throw new RecordNotFoundError('subscriber', `${name}: the table storage (relay.storage 'table') has no cursors`);
    }
    const directoryName = name.startsWith('local:') ? name.slice('local:'.length) : null;
    const [r] = await this.rows<RetireResult>(
      retireSubscriber(this.schema, { cursor: name, directoryName, now: this.now() }),
    );
    if (!r || r.cursors === 0) throw new RecordNotFoundError('subscriber', `${name} (no cursor has this name)`);
    if (r.retired === 0) {
      throw new StateConflictError(
        `Subscriber ${name} is still read by a running relay (${r.readers.join(', ')}): retiring it now would ` +
          'only make that instance register it again when it restarts, and miss what is written until then. ' +
          'Stop or redeploy the instances without it first (a relay that died counts as stopped a lease after ' +
          'its last heartbeat).',
      );
    }
    this.logger.log(
      `Retired subscriber ${name}: ${r.retired} cursor(s)` +
        (directoryName === null ? '' : `, ${r.directoryRows} flowbus_subscriber row(s)`) +
        '; its retries and dead letters are kept',
    );
  }

  /** Throughput and backlog per destination over the last hour, per minute (the dashboard's charts). */
  async history(): Promise<HistoryDto> {
    return { bucketSeconds: 60, destinations: await this.figures.history(60, 60) };
  }

  breakerStates(): BreakerDto[] {
    return this.breakers
      .snapshots()
      .map((b) => ({ destination: b.destination, state: b.state, stats: { ...b.stats } }));
  }

  /** Adds `noSubscriberHere`: an undelivered `local` row for a subscriber this app does not have. */
  private withSubscriberHere(row: Paged): Paged {
    const noSubscriberHere =
      row.destination === LOCAL_DESTINATION &&
      row.status !== 'delivered' &&
      this.durable.find(String(row.type), String(row.subscriber)) === undefined;
    return { ...row, noSubscriberHere };
  }

  /** The routes with the log storage (its deliveries are read from the log), else undefined. */
  private logRoutes(): sql.LogRoutes {
    return this.options.relay.storage === 'log' ? this.options.routes : undefined;
  }

  private now(): Date {
    return new Date(this.options.clock.now());
  }

  private seqOf(list: CursorList, cursor: string | undefined): string | undefined {
    // The DTO validated the cursor; decoding cannot fail here.
    return cursor === undefined ? undefined : decodeCursor(list, cursor);
  }

  private page<T>(list: CursorList, rows: Paged[], limit: number): { items: T[]; nextCursor: string | null } {
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map((r) => withoutSeq(r) as T),
      nextCursor: rows.length > limit && last ? encodeCursor(list, last.seq) : null,
    };
  }

  /** Runs a requeue statement; a concurrent insert of the same id into the outbox is a 409. */
  private async move(query: Query): Promise<string[]> {
    try {
      return (await this.rows<{ id: string }>(query)).map((r) => r.id);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new StateConflictError('A message with this id is in the outbox already', { cause: error });
      }
      throw error;
    }
  }

  /** Wakes this instance's relay and, with `relay.notify`, those of other instances. */
  private async wake(): Promise<void> {
    this.signal.wake();
    if (!this.options.relay.notify) return;
    try {
      const q = notify(notifyChannel(this.schema));
      await this.pool.query(q.text, q.values);
    } catch (error) {
      // The rows are committed; other relays find them at their next poll.
      this.logger.warn(`NOTIFY after a requeue failed: ${describeError(error)}`);
    }
  }

  private async rows<T = Paged>(query: Query): Promise<T[]> {
    return (await this.pool.query(query.text, query.values)).rows as T[];
  }
}

interface Paged {
  seq: string;
  [column: string]: unknown;
}

function withoutSeq(row: Paged): Record<string, unknown> {
  const { seq: _seq, ...rest } = row;
  return rest;
}

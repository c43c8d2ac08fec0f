import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import type { EventInstance } from '../bus/event-type.js';
import { pipelinedTransaction } from '../database/pipelined-transaction.js';
import { NotInTransactionError } from '../errors/not-in-transaction.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { FlowbusTelemetry } from '../telemetry/flowbus-telemetry.js';
import { CommitWatcher } from './commit-watcher.js';
import { appendToLog, type LogInsertRow } from './log.queries.js';
import { LogWriteBehind } from './log-write-behind.js';
import { notifyChannel } from './notify-channel.js';
import { OutboxRows } from './outbox-rows.js';
import type { OutboxMessage, OutboxPublishOptions } from './outbox-message.interface.js';
import { poolOf } from '../database/pg-pool.js';
import { guardedWrite, insertMessages, onlyGuarded, type OutboxInsertRow, type Query } from './outbox.queries.js';

/**
 * Writes messages into the transactional outbox with the caller's transaction, so they commit
 * or roll back with the business data. The relay delivers them at least once after commit.
 */
@Injectable()
export class OutboxService {
  private readonly schema: string;
  private readonly channel: string;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly rows: OutboxRows,
    private readonly commits: CommitWatcher,
    private readonly telemetry: FlowbusTelemetry,
    private readonly writeBehind: LogWriteBehind,
  ) {
    this.schema = options.schema;
    this.channel = notifyChannel(options.schema);
  }

  /**
   * Writes messages with `manager`, which must belong to an open transaction. With
   * `relay.storage: 'log'`, each message is one `flowbus_log` row (and one id), whatever the number
   * of its subscribers. Otherwise a message for
   * `local` becomes one row per durable subscriber of its type, in this app or any other app on
   * the database (each records its subscribers at start); a `local` type nobody subscribes to is
   * refused with a NoSubscriberError before anything is written.
   * @returns the ids of the rows written
   * @throws NotInTransactionError, UnknownDestinationError, InvalidMessageError, NoSubscriberError
   */
  async enqueue(manager: EntityManager, messages: OutboxMessage | readonly OutboxMessage[]): Promise<string[]> {
    assertInTransaction(manager, 'OutboxService.enqueue');
    return this.telemetry.enqueue('enqueue', async (span) => {
      if (this.options.relay.storage === 'log') {
        const logRows = await this.rows.logRowsForMessages(messages, manager);
        this.telemetry.written(span, logRows);
        return this.append(manager, logRows, 'OutboxService.enqueue');
      }
      const rows = await this.rows.forMessages(messages, manager);
      this.telemetry.written(span, rows);
      return this.write(manager, rows, 'OutboxService.enqueue');
    });
  }

  /**
   * Durable fan-out of an event. With `relay.storage: 'log'`: one `flowbus_log` row (and one id)
   * per event, read by each subscriber through its own cursor. Otherwise one row per durable subscriber (each `@HandleEvent(X, { durable:
   * true })`, each saga listening to X, in this app or any other app on the database) and per
   * configured route of X, so each is retried alone. Several events (an array) are written with
   * one INSERT, all with the same `options`.
   * @returns the ids of the rows written
   * @throws NotInTransactionError, InvalidEventError, NoSubscriberError (no subscriber and no route)
   */
  async publish(
    manager: EntityManager,
    events: EventInstance | readonly EventInstance[],
    options: OutboxPublishOptions = {},
  ): Promise<string[]> {
    assertInTransaction(manager, 'OutboxService.publish');
    return this.telemetry.enqueue('publish', async (span) => {
      if (this.options.relay.storage === 'log') {
        const logRows = await this.rows.logRowsForEvents(events, options, manager);
        this.telemetry.written(span, logRows);
        return this.append(manager, logRows, 'OutboxService.publish');
      }
      const rows = await this.rows.forEvents(events, options, manager);
      this.telemetry.written(span, rows);
      return this.write(manager, rows, 'OutboxService.publish');
    });
  }

  /**
   * Writes `messages` in ONE autocommit statement with `guard`, a data-modifying statement that
   * returns `id`s (a source recording the ids it received): only the messages whose header
   * `idHeader` is among them are written, so the guard's rows and theirs commit together, in one
   * round trip instead of a transaction's four. Returns the ids the guard returned.
   * @internal for ReceivedStore
   * @throws UnknownDestinationError, InvalidMessageError, NoSubscriberError (nothing written)
   */
  async enqueueGuarded(guard: Query, idHeader: string, messages: readonly OutboxMessage[]): Promise<string[]> {
    return this.telemetry.enqueue('enqueue', async (span) => {
      // Looks up subscribers it does not know on the pool: there is no transaction to join.
      const manager = this.dataSource.manager;
      const only = onlyGuarded(idHeader);
      let write;
      if (this.options.relay.storage === 'log') {
        const logRows = await this.rows.logRowsForMessages(messages, manager);
        this.telemetry.written(span, logRows);
        write = appendToLog(this.schema, logRows, undefined, only);
      } else {
        const rows = await this.rows.forMessages(messages, manager);
        this.telemetry.written(span, rows);
        write = insertMessages(this.schema, rows, new Date(this.options.clock.now()), undefined, only);
      }
      const q = guardedWrite(guard, write, this.options.relay.notify ? this.channel : undefined);
      const { rows } = await poolOf(this.dataSource).query<{ id: string }>(q);
      this.commits.committed();
      return rows.map((r) => r.id);
    });
  }

  /**
   * Runs `work` in a transaction of Flowbus's DataSource; enqueue/publish with its manager. Like
   * `dataSource.transaction(work)`, with BEGIN sent together with the first statement (one round
   * trip less, see pipelinedTransaction). With `relay.storage: 'log'`, the rows that `enqueue` and
   * `publish` write with this manager are written behind: held, and sent as one statement either
   * with the COMMIT (a transaction that only publishes costs one round trip) or right before the
   * next statement run through the manager (so that statement sees them). A held write that fails
   * rejects that statement, or the transaction (nothing committed).
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.options.relay.storage !== 'log') return pipelinedTransaction(this.dataSource, work);
    return pipelinedTransaction(this.dataSource, work, this.writeBehind);
  }

  private async write(manager: EntityManager, rows: OutboxInsertRow[], operation: string): Promise<string[]> {
    const runner = assertInTransaction(manager, operation);
    if (rows.length === 0) return [];
    // The wake-up for relays in other instances rides on the INSERT (sent at commit).
    const q = insertMessages(
      this.schema,
      rows,
      new Date(this.options.clock.now()),
      this.options.relay.notify ? this.channel : undefined,
    );
    await runner.query(q.text, q.values);
    this.commits.track(runner);
    return rows.map((r) => r.id);
  }

  /** Log storage: one statement of a fixed text, whatever the number of rows (see appendToLog). */
  private async append(manager: EntityManager, rows: LogInsertRow[], operation: string): Promise<string[]> {
    const runner = assertInTransaction(manager, operation);
    if (rows.length === 0) return [];
    if (this.writeBehind.hold(runner, rows)) {
      this.commits.track(runner);
      return rows.map((r) => r.id);
    }
    const q = appendToLog(this.schema, rows, this.options.relay.notify ? this.channel : undefined);
    // TypeORM's query() takes no statement name; its driver connection is a node-postgres client.
    const client = (await runner.connect()) as { query(config: object): Promise<unknown> };
    await client.query(q);
    this.commits.track(runner);
    return rows.map((r) => r.id);
  }
}

function assertInTransaction(manager: EntityManager, operation: string): QueryRunner {
  const runner = manager.queryRunner;
  if (!runner || !runner.isTransactionActive) throw new NotInTransactionError(operation);
  return runner;
}

export { notifyChannel };

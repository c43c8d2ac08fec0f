import type { QueryConfig } from 'pg';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** What a node-postgres client offers for pipelining (`pipeline` only in recent pg 8 releases). */
interface PipeliningClient {
  pipeline?: boolean;
  query(query: string | QueryConfig | Submittable, ...rest: unknown[]): Promise<unknown>;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

/** A query object of its own class (pg-cursor, pg-query-stream): pipeline mode refuses it. */
interface Submittable {
  submit(connection: unknown): void;
}

/** The parts of TypeORM's query runner that `startTransaction()` sets (public fields, protected depth). */
interface TransactionState {
  isTransactionActive: boolean;
  transactionDepth: number;
  broadcaster: {
    broadcast(
      event:
        | 'BeforeTransactionStart'
        | 'AfterTransactionStart'
        | 'BeforeTransactionCommit'
        | 'AfterTransactionCommit'
        | 'BeforeTransactionRollback'
        | 'AfterTransactionRollback',
    ): Promise<void>;
  };
}

/**
 * Writes a transaction holds back to send with its COMMIT (write-behind, see OutboxService). Used
 * only when the transaction is pipelined: without pipeline mode, a held write would cost the same
 * round trip at commit as at once.
 */
export interface HeldWrites {
  /** The transaction on `runner` is open and pipelined: writes may be held for it from now on. */
  opened(runner: QueryRunner): void;
  /** The held writes as one statement, to send right before COMMIT (taken: held no more); undefined if none. */
  take(runner: QueryRunner): QueryConfig | undefined;
  /** The transaction is over, or about to be rolled back: forget what is held, write nothing more. */
  closed(runner: QueryRunner): void;
}

/**
 * Runs `work` in a transaction of `dataSource`, like `dataSource.transaction(work)` (commit when it
 * resolves, rollback when it throws), in fewer round trips: BEGIN is sent at once (with `held`:
 * only with the transaction's first statement) and never awaited before the statements behind it
 * (node-postgres's pipeline mode, on while BEGIN is in flight and off once nothing is: cursors and
 * streams, which pipeline mode refuses, work after the first statement, or as the first statement
 * when BEGIN waits for it). A failed BEGIN fails the transaction before its COMMIT; in practice
 * BEGIN fails only with the connection itself, which fails every statement behind it.
 *
 * With `held` (write-behind, see LogWriteBehind), writes held back during `work` go with the
 * COMMIT: in one pipelined message (statement, COMMIT) behind the statements `work` sent; and
 * when `work` sent none, the held statement alone, in autocommit (PostgreSQL runs one statement
 * as a transaction of its own, atomically), so a transaction that only publishes costs one
 * statement and one round trip. A held statement that fails aborts the transaction, and PostgreSQL
 * answers the COMMIT with a rollback, not an error: the transaction rejects with that statement's
 * error and nothing of it is committed.
 *
 * Falls back to `dataSource.transaction` where it cannot help: a node-postgres without pipeline
 * mode, or an isolation level configured on the DataSource (a second statement to send). Nothing is
 * held then (`held.opened` is not called): writes go at once.
 */
export async function pipelinedTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
  held?: HeldWrites,
): Promise<T> {
  if (dataSource.options.isolationLevel !== undefined) return dataSource.transaction(work);
  const runner = dataSource.createQueryRunner();
  let lazy: LazyBegin | undefined;
  try {
    const client = (await runner.connect()) as PipeliningClient;
    if (client.pipeline === false) {
      lazy = new LazyBegin(runner, client);
      // Without write-behind, BEGIN goes at once: PostgreSQL runs it while `work` computes (the
      // table storage's publish bench, 1 client: 0.79–0.94× the hand-written fan-out, 0.70× with
      // BEGIN sent along with the first statement; separate runs on a shared machine). With it, a
      // transaction may send nothing but its held rows, and then needs no BEGIN at all.
      await lazy.open(held === undefined);
      held?.opened(runner);
    } else {
      await runner.startTransaction();
    }
    const result = await work(runner.manager);
    if (lazy) await lazy.commit(held);
    else await runner.commitTransaction();
    return result;
  } catch (error) {
    // Nothing held is written on the way out: the ROLLBACK below would flush it first.
    held?.closed(runner);
    if (runner.isTransactionActive) {
      try {
        if (lazy) await lazy.rollback();
        else await runner.rollbackTransaction();
      } catch {
        // The original error is the one to report; a broken connection is destroyed on release.
      }
    }
    throw error;
  } finally {
    held?.closed(runner);
    lazy?.close();
    await runner.release();
  }
}

/**
 * A transaction whose BEGIN goes out with its first statement. The connection's `query` is wrapped
 * for the transaction's lifetime, so every statement on it (TypeORM's, a stream's, one sent on the
 * raw driver connection) is preceded by the BEGIN; `close()` restores it.
 */
class LazyBegin {
  private readonly state: TransactionState;
  private readonly query: PipeliningClient['query'];
  private readonly ownQuery: boolean;
  private begun: Promise<unknown> | undefined;
  private readonly normal = () => {
    this.client.pipeline = false;
  };

  constructor(
    private readonly runner: QueryRunner,
    private readonly client: PipeliningClient,
  ) {
    this.state = runner as unknown as TransactionState;
    this.query = client.query;
    this.ownQuery = Object.hasOwn(client, 'query');
  }

  /** What `QueryRunner.startTransaction()` does; BEGIN sent at once if `eager`, else with the first statement. */
  async open(eager: boolean): Promise<void> {
    this.state.isTransactionActive = true;
    try {
      await this.state.broadcaster.broadcast('BeforeTransactionStart');
    } catch (error) {
      this.state.isTransactionActive = false;
      throw error;
    }
    this.client.query = (config, ...rest) => {
      this.begin(typeof config === 'object' && 'submit' in config && typeof config.submit === 'function');
      return this.query.call(this.client, config, ...rest);
    };
    if (eager) this.begin(false);
    this.state.transactionDepth = 1;
    await this.state.broadcaster.broadcast('AfterTransactionStart');
  }

  /**
   * What `QueryRunner.commitTransaction()` does, with the held writes sent right before the COMMIT
   * (or alone, when nothing was sent: see pipelinedTransaction). A held write's own error is what
   * tells that the COMMIT rolled back: it is rethrown, with the rollback broadcast instead.
   */
  async commit(held: HeldWrites | undefined): Promise<void> {
    // Subscribers may still write (and hold) here; what is held is taken after them.
    await this.state.broadcaster.broadcast('BeforeTransactionCommit');
    const statement = held?.take(this.runner);
    let failure: unknown;
    if (this.begun === undefined) {
      if (statement) {
        this.runner.connection.logger.logQuery(statement.text, statement.values, this.runner);
        try {
          await this.query.call(this.client, statement);
        } catch (error) {
          failure = error;
        }
      }
    } else if (!statement) {
      await this.begun;
      await this.runner.query('COMMIT');
    } else {
      this.pipelined();
      this.runner.connection.logger.logQuery(statement.text, statement.values, this.runner);
      const written = this.client.query(statement);
      written.catch(() => undefined);
      // Queued behind the write at once (runner.query only awaits microtasks before sending it).
      const committed = this.runner.query('COMMIT');
      committed.catch(() => undefined);
      await this.begun;
      try {
        await written;
      } catch (error) {
        failure = error;
      }
      try {
        await committed;
      } catch (error) {
        // Still marked active: the caller's rollback runs, as after any failed COMMIT.
        throw failure ?? error;
      }
    }
    this.state.isTransactionActive = false;
    this.state.transactionDepth = 0;
    if (failure !== undefined) {
      await this.state.broadcaster.broadcast('AfterTransactionRollback');
      throw failure;
    }
    await this.state.broadcaster.broadcast('AfterTransactionCommit');
  }

  /** `QueryRunner.rollbackTransaction()`, or only its events when nothing was sent (nothing to undo). */
  async rollback(): Promise<void> {
    if (this.begun !== undefined) return this.runner.rollbackTransaction();
    await this.state.broadcaster.broadcast('BeforeTransactionRollback');
    this.state.isTransactionActive = false;
    this.state.transactionDepth = 0;
    await this.state.broadcaster.broadcast('AfterTransactionRollback');
  }

  close(): void {
    // Back to the prototype's method (or the client's own, if it had one): the pool reuses the client.
    if (this.ownQuery) this.client.query = this.query;
    else delete (this.client as Partial<PipeliningClient>).query;
    this.client.removeListener('drain', this.normal);
    this.client.pipeline = false;
  }

  /**
   * Sends BEGIN before the first statement, not awaited: pipelined unless that statement is a
   * cursor or stream (then queued behind BEGIN in normal mode, one round trip more).
   */
  private begin(portal: boolean): void {
    if (this.begun !== undefined) return;
    if (!portal) this.pipelined();
    this.runner.connection.logger.logQuery('START TRANSACTION', undefined, this.runner);
    this.begun = this.query.call(this.client, 'START TRANSACTION');
    // Awaited before the COMMIT; until then a failure also reaches the statements behind it.
    this.begun.catch(() => undefined);
  }

  /** Pipeline mode until nothing is in flight. */
  private pipelined(): void {
    if (this.client.pipeline) return;
    this.client.pipeline = true;
    this.client.once('drain', this.normal);
  }
}

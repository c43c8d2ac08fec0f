import type { QueryConfig } from 'pg';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** What a node-postgres client offers for pipelining (`pipeline` only in recent pg 8 releases). */
interface PipeliningClient {
  pipeline?: boolean;
  query(query: string | QueryConfig): Promise<unknown>;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
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
 * resolves, rollback when it throws), one round trip shorter: BEGIN is not awaited before the
 * transaction's first statement is sent. The connection is put in node-postgres's pipeline mode
 * while BEGIN is in flight, so the first statement follows it on the wire at once, and back in
 * normal mode as soon as nothing is in flight (its `drain`): cursors and streams, which pipeline
 * mode refuses, work after that. A failed BEGIN fails the transaction before its COMMIT; in
 * practice BEGIN on an idle connection fails only with the connection itself, which fails every
 * statement behind it too.
 *
 * With `held`, writes held back during `work` are sent with the COMMIT, in one pipelined message
 * (statement, then COMMIT), so a transaction that only writes held rows costs one round trip:
 * BEGIN was sent ahead, and nothing is awaited before the COMMIT is on the wire. A held statement
 * that fails leaves the transaction aborted, so PostgreSQL answers the COMMIT with a rollback: the
 * transaction rejects with that statement's error and nothing of it is committed.
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
  let piped: PipeliningClient | undefined;
  const normal = () => {
    if (piped) piped.pipeline = false;
  };
  try {
    const client = (await runner.connect()) as PipeliningClient;
    let begun: Promise<unknown> = Promise.resolve();
    if (client.pipeline === false) {
      piped = client;
      ({ begun } = await begin(runner, client, normal));
      held?.opened(runner);
    } else {
      await runner.startTransaction();
    }
    const result = await work(runner.manager);
    if (piped && held) {
      await commitWithHeld(runner, piped, held, normal, begun);
    } else {
      await begun;
      await runner.commitTransaction();
    }
    return result;
  } catch (error) {
    // Nothing held is written on the way out: the ROLLBACK below would flush it first.
    held?.closed(runner);
    if (runner.isTransactionActive) {
      try {
        await runner.rollbackTransaction();
      } catch {
        // The original error is the one to report; a broken connection is destroyed on release.
      }
    }
    throw error;
  } finally {
    held?.closed(runner);
    if (piped) {
      piped.removeListener('drain', normal);
      normal();
    }
    await runner.release();
  }
}

/** What `QueryRunner.startTransaction()` does, with BEGIN sent but not awaited (see above). */
async function begin(
  runner: QueryRunner,
  client: PipeliningClient,
  normal: () => void,
): Promise<{ begun: Promise<unknown> }> {
  const state = runner as unknown as TransactionState;
  state.isTransactionActive = true;
  try {
    await state.broadcaster.broadcast('BeforeTransactionStart');
  } catch (error) {
    state.isTransactionActive = false;
    throw error;
  }
  client.pipeline = true;
  client.once('drain', normal);
  runner.connection.logger.logQuery('START TRANSACTION', undefined, runner);
  const begun = client.query('START TRANSACTION');
  // Awaited before the COMMIT; until then a failure also reaches the statements behind it.
  begun.catch(() => undefined);
  state.transactionDepth = 1;
  await state.broadcaster.broadcast('AfterTransactionStart');
  return { begun };
}

/**
 * What `QueryRunner.commitTransaction()` does, with the held writes sent right before the COMMIT
 * and neither awaited before both are on the wire (pipeline mode on until the connection drains).
 * PostgreSQL answers the COMMIT of a transaction a held write aborted with a rollback, not an
 * error: the write's own error is what tells, so it is awaited first and rethrown, with the
 * rollback broadcast instead of the commit.
 */
async function commitWithHeld(
  runner: QueryRunner,
  client: PipeliningClient,
  held: HeldWrites,
  normal: () => void,
  begun: Promise<unknown>,
): Promise<void> {
  const state = runner as unknown as TransactionState;
  // Subscribers may still write (and hold) here; what is held is taken after them.
  await state.broadcaster.broadcast('BeforeTransactionCommit');
  const statement = held.take(runner);
  if (!statement) {
    await begun;
    await runner.query('COMMIT');
  } else {
    if (!client.pipeline) {
      client.pipeline = true;
      client.once('drain', normal);
    }
    runner.connection.logger.logQuery(statement.text, statement.values, runner);
    const written = client.query(statement);
    written.catch(() => undefined);
    // Queued behind the write at once (runner.query only awaits microtasks before sending it).
    const committed = runner.query('COMMIT');
    committed.catch(() => undefined);
    let failure: unknown;
    await begun;
    try {
      await written;
    } catch (error) {
      failure = error;
    }
    try {
      await committed;
    } catch (error) {
      // The transaction is still marked active: the caller's rollback runs, as after any failed COMMIT.
      throw failure ?? error;
    }
    if (failure !== undefined) {
      state.isTransactionActive = false;
      state.transactionDepth = 0;
      await state.broadcaster.broadcast('AfterTransactionRollback');
      throw failure;
    }
  }
  state.isTransactionActive = false;
  state.transactionDepth = 0;
  await state.broadcaster.broadcast('AfterTransactionCommit');
}

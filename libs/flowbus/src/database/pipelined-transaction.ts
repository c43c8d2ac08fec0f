import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** What a node-postgres client offers for pipelining (`pipeline` only in recent pg 8 releases). */
interface PipeliningClient {
  pipeline?: boolean;
  query(text: string): Promise<unknown>;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

/** The parts of TypeORM's query runner that `startTransaction()` sets (public fields, protected depth). */
interface TransactionState {
  isTransactionActive: boolean;
  transactionDepth: number;
  broadcaster: { broadcast(event: 'BeforeTransactionStart' | 'AfterTransactionStart'): Promise<void> };
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
 * Falls back to `dataSource.transaction` where it cannot help: a node-postgres without pipeline
 * mode, or an isolation level configured on the DataSource (a second statement to send).
 */
export async function pipelinedTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
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
    } else {
      await runner.startTransaction();
    }
    const result = await work(runner.manager);
    await begun;
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) {
      try {
        await runner.rollbackTransaction();
      } catch {
        // The original error is the one to report; a broken connection is destroyed on release.
      }
    }
    throw error;
  } finally {
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

import type { PoolClient } from 'pg';
import type { EntityManager } from 'typeorm';
import { LazySavepoint } from '../database/lazy-savepoint.js';
import { rowsOf } from '../database/run-query.js';
import { deleteInboxRows, insertInboxBatch } from '../inbox/inbox.queries.js';
import { runInScope, scopeOfMessage } from '../telemetry/message-scope.js';
import type { DurableSubscriber } from './durable-handler-registry.js';

type InvokeMany = NonNullable<DurableSubscriber['invokeMany']>;

/**
 * The `invokeMany` of a durable `@HandleEvent` method: several deliveries in the caller's
 * transaction. The inbox rows of all of them are written in one statement (ids sorted, so two
 * batches recording the same redelivered messages queue instead of deadlocking); a delivery whose
 * row existed is a duplicate, acknowledged without running. The others run one after the other,
 * each in its own savepoint (opened only if the handler touches the manager): one that throws
 * is rolled back alone and loses its inbox row, so the relay retries it, and the rest commit.
 */
export function durableHandlerBatch(
  schema: string,
  subscriber: string,
  invoke: (event: unknown, manager: EntityManager) => unknown,
): InvokeMany {
  return async (deliveries, manager) => {
    const ids = deliveries.map((d) => d.id).sort();
    const inserted = await rowsOf<{ message_id: string }>(manager, insertInboxBatch(schema, ids, subscriber));
    const fresh = new Set(inserted.map((r) => r.message_id));
    const savepoint = new LazySavepoint((await manager.queryRunner!.connect()) as PoolClient, manager);
    const lazy = savepoint.lazyManager();
    const errors: (Error | undefined)[] = [];
    const failed: string[] = [];
    for (const d of deliveries) {
      let error: Error | undefined;
      if (fresh.has(d.id)) {
        try {
          // What the handler writes names this message as its cause, in its conversation.
          await runInScope(scopeOfMessage(d.id, d.headers), () => invoke(d.event, lazy));
        } catch (thrown) {
          error = thrown instanceof Error ? thrown : new Error(`Handler threw ${String(thrown)}`);
          failed.push(d.id);
        }
        if (error) {
          await savepoint.close(false);
        } else {
          // The call returned but left the transaction aborted: it fails alone (see LazySavepoint.close).
          error = await savepoint.close(true).then(
            () => undefined,
            (closing: unknown) =>
              new Error(
                `${subscriber} returned, but a statement it ran failed and left the transaction aborted: ${(closing as Error).message}`,
                { cause: closing },
              ),
          );
          if (error) failed.push(d.id);
        }
      }
      errors.push(error);
    }
    if (failed.length > 0) await rowsOf(manager, deleteInboxRows(schema, failed, subscriber));
    return errors;
  };
}

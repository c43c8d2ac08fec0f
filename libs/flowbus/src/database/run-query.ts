import type { EntityManager } from 'typeorm';
import type { Query } from '../outbox/outbox.queries.js';

/**
 * Runs a statement on a transaction's manager and returns its rows. TypeORM's plain `query()`
 * returns `[rows, count]` for UPDATE/DELETE but rows for everything else; the structured result
 * always has `records`.
 */
export async function rowsOf<T>(manager: EntityManager, q: Query): Promise<T[]> {
  const runner = manager.queryRunner;
  if (!runner) return (await manager.query(q.text, q.values)) as T[];
  const result = await runner.query(q.text, q.values, true);
  return (result.records ?? []) as T[];
}

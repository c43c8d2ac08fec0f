import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The `pg` pool behind a TypeORM PostgreSQL DataSource. The relay's hot path (claim, mark) runs
 * single statements on it directly: going through a TypeORM QueryRunner per statement costs more
 * than the statement itself at tens of thousands of rows per second.
 */
export function poolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool || typeof pool.query !== 'function') {
    throw new Error('Flowbus needs the PostgreSQL driver (pg) behind its DataSource');
  }
  return pool;
}

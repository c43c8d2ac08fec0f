import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` on a client checked out of `pool`, then gives it back. pg-pool removes its own
 * `'error'` listener while a client is checked out, and pg emits `'error'` when the socket ends
 * without a FATAL message (immediate shutdown, failover, a network cut) — with no listener that
 * is an uncaught exception that ends the process. So a listener is attached for the whole
 * checkout, and a client that saw an error (there or from a query) is released with it, which
 * makes pg-pool destroy it instead of handing it out again (this also ends an open transaction).
 */
export async function withPooledClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

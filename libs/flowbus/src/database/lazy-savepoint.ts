import type { PoolClient } from 'pg';
import type { EntityManager } from 'typeorm';

const NAME = 'flowbus_step';

/**
 * The savepoint of one delivery run in a batch (a saga step, a durable handler call), opened only
 * if the delivery touches the manager: most saga steps only change state and record messages,
 * which the batch writes after the fact, and many handlers write nothing, so they need no round
 * trip of their own. A delivery that writes through the manager gets a savepoint before its first
 * statement, rolled back if it throws, so its rows go with it.
 *
 * The SAVEPOINT is queued on the transaction's connection synchronously, from `managerOf` (the
 * `manager` getter of a step's context, any property read on a handler's manager), so it reaches
 * PostgreSQL before any statement the delivery then sends (node-postgres runs a connection's
 * queries in the order they were queued).
 */
export class LazySavepoint {
  private opened: Promise<unknown> | undefined;

  constructor(
    private readonly client: PoolClient,
    private readonly manager: EntityManager,
  ) {}

  /** The manager, with the savepoint opened on first use. */
  readonly managerOf = (): EntityManager => {
    if (!this.opened) {
      this.opened = this.client.query(`SAVEPOINT ${NAME}`);
      // Awaited in close(); a failure here fails the delivery's own statements anyway.
      this.opened.catch(() => undefined);
    }
    return this.manager;
  };

  /**
   * The manager behind a proxy that opens the savepoint on the first property read (a method
   * call, `query`, `getRepository`...): for a callee that takes the manager as an argument.
   * Repositories the manager caches keep this proxy, so make one per batch, not per delivery.
   */
  lazyManager(): EntityManager {
    const open = this.managerOf;
    return new Proxy(this.manager, {
      get(target, property) {
        open();
        return Reflect.get(target, property, target) as unknown;
      },
    });
  }

  /**
   * Keeps (`ok`) or undoes what the delivery wrote, and gets ready for the next one. A delivery
   * that returned but left the transaction aborted (it caught a failed statement of its own) cannot
   * be kept: its savepoint is rolled back and the error of the release is thrown, so the caller
   * fails that delivery alone.
   */
  async close(ok: boolean): Promise<void> {
    const opened = this.opened;
    if (!opened) return;
    this.opened = undefined;
    if (ok) {
      try {
        await opened;
        await this.client.query(`RELEASE SAVEPOINT ${NAME}`);
        return;
      } catch (error) {
        await this.rollback();
        throw error;
      }
    }
    await opened.catch(() => undefined);
    await this.rollback();
  }

  private async rollback(): Promise<void> {
    await this.client.query(`ROLLBACK TO SAVEPOINT ${NAME}`);
    await this.client.query(`RELEASE SAVEPOINT ${NAME}`);
  }
}

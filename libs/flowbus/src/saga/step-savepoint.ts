import type { PoolClient } from 'pg';
import type { EntityManager } from 'typeorm';

const NAME = 'flowbus_step';

/**
 * The savepoint of one step run in a batch, opened only if the step touches `ctx.manager`: most
 * steps only change state and record messages, which the batch writes after the fact, so they
 * need no round trip of their own. A step that writes through the manager gets a savepoint
 * before its first statement, rolled back if the step throws, so its rows go with it.
 *
 * The SAVEPOINT is queued on the transaction's connection synchronously, from the `manager`
 * getter, so it reaches PostgreSQL before any statement the step then sends (node-postgres runs
 * a connection's queries in the order they were queued).
 */
export class StepSavepoint {
  private opened: Promise<unknown> | undefined;

  constructor(
    private readonly client: PoolClient,
    private readonly manager: EntityManager,
  ) {}

  /** The manager, with the savepoint opened on first use. */
  readonly managerOf = (): EntityManager => {
    if (!this.opened) {
      this.opened = this.client.query(`SAVEPOINT ${NAME}`);
      // Awaited in close(); a failure here fails the step's own statements anyway.
      this.opened.catch(() => undefined);
    }
    return this.manager;
  };

  /** Keeps (`ok`) or undoes what the step wrote, and gets ready for the next step. */
  async close(ok: boolean): Promise<void> {
    const opened = this.opened;
    if (!opened) return;
    this.opened = undefined;
    if (ok) {
      await opened;
      await this.client.query(`RELEASE SAVEPOINT ${NAME}`);
      return;
    }
    await opened.catch(() => undefined);
    await this.client.query(`ROLLBACK TO SAVEPOINT ${NAME}`);
    await this.client.query(`RELEASE SAVEPOINT ${NAME}`);
  }
}

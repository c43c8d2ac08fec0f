import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { QueryConfig } from 'pg';
import type { QueryRunner } from 'typeorm';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { AttachedSubscriber } from '../database/attached-subscriber.js';
import type { HeldWrites } from '../database/pipelined-transaction.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { appendToLog, type LogInsertRow } from './log.queries.js';
import { notifyChannel } from './notify-channel.js';

/** The part of a node-postgres client the flush uses (TypeORM's `query()` takes no statement name). */
interface NamedQueryClient {
  query(config: QueryConfig): Promise<unknown>;
}

/**
 * Write-behind of log rows in transactions opened by `OutboxService.transaction` (log storage):
 * `enqueue`/`publish` hold their rows, and the held rows go to PostgreSQL as ONE append, either
 * with the COMMIT (one pipelined message: a transaction that only publishes costs one round trip)
 * or right before the next statement the transaction's QueryRunner runs (TypeORM's BeforeQuery,
 * awaited before the statement is sent). So every statement of the transaction, a savepoint and
 * its rollback included, sees the rows as if they had been written at once, and a key's rows keep
 * their order; only a statement sent around TypeORM (on the raw driver connection) does not.
 * Transactions not opened here (a caller's own manager) are not held: their COMMIT cannot be hooked.
 * @internal
 */
@Injectable()
export class LogWriteBehind implements HeldWrites, OnModuleDestroy {
  private readonly held = new WeakMap<QueryRunner, LogInsertRow[]>();
  private readonly channel: string | undefined;
  private readonly subscriber = new AttachedSubscriber({
    beforeQuery: ({ queryRunner }) => {
      const rows = this.held.get(queryRunner);
      return rows !== undefined && rows.length > 0 ? this.flush(queryRunner) : undefined;
    },
  });

  constructor(@Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions) {
    this.channel = options.relay.notify ? notifyChannel(options.schema) : undefined;
  }

  opened(runner: QueryRunner): void {
    this.subscriber.watch(runner.connection);
    this.held.set(runner, []);
  }

  /** Holds `rows` when `runner`'s transaction writes behind; false: the caller writes them now. */
  hold(runner: QueryRunner, rows: readonly LogInsertRow[]): boolean {
    const list = this.held.get(runner);
    if (list === undefined) return false;
    for (const row of rows) list.push(row);
    return true;
  }

  take(runner: QueryRunner): QueryConfig | undefined {
    const rows = this.held.get(runner);
    if (rows === undefined || rows.length === 0) return undefined;
    this.held.set(runner, []);
    return appendToLog(this.options.schema, rows, this.channel);
  }

  closed(runner: QueryRunner): void {
    this.held.delete(runner);
  }

  onModuleDestroy(): void {
    this.subscriber.detach();
  }

  /** Writes what is held now, before the statement about to run (its failure fails that statement). */
  private async flush(runner: QueryRunner): Promise<void> {
    const q = this.take(runner)!;
    runner.connection.logger.logQuery(q.text, q.values, runner);
    const client = (await runner.connect()) as NamedQueryClient;
    await client.query(q);
  }
}

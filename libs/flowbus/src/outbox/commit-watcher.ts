import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { AttachedSubscriber } from '../database/attached-subscriber.js';
import { RelaySignal } from './relay-signal.js';

/**
 * Wakes the relay right after a transaction that wrote outbox rows commits, through TypeORM's
 * AfterTransactionCommit event. Savepoint releases also raise that event, so only the outermost
 * commit (no transaction active any more) counts; a rollback forgets the runner.
 */
@Injectable()
export class CommitWatcher implements OnModuleDestroy {
  private readonly pending = new WeakSet<QueryRunner>();
  private readonly subscriber = new AttachedSubscriber({
    afterTransactionCommit: ({ queryRunner }) => {
      if (!queryRunner.isTransactionActive && this.pending.has(queryRunner)) {
        this.pending.delete(queryRunner);
        this.signal.wake();
      }
    },
    afterTransactionRollback: ({ queryRunner }) => {
      if (!queryRunner.isTransactionActive) this.pending.delete(queryRunner);
    },
  });

  constructor(private readonly signal: RelaySignal) {}

  /** Remembers that `queryRunner`'s open transaction wrote outbox rows. */
  track(queryRunner: QueryRunner): void {
    this.subscriber.watch(queryRunner.connection);
    this.pending.add(queryRunner);
  }

  /** A write outside any transaction (autocommit) committed outbox rows: wakes the relay now. */
  committed(): void {
    this.signal.wake();
  }

  onModuleDestroy(): void {
    this.subscriber.detach();
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { DurableHandlerRegistry, type DurableSubscriber } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { MAX_CONFLICT_ATTEMPTS, TransactionConflict } from '../database/transaction-conflict.js';
import { NonRetryableError } from '../errors/non-retryable.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { rowsOf } from '../database/run-query.js';
import { insertInboxBatch } from '../inbox/inbox.queries.js';
import { PayloadCodec } from '../outbox/payload-codec.js';
import { runInScope, scopeOfMessage } from '../telemetry/message-scope.js';
import { BatchSizer } from './batch-sizer.js';
import type { DeliveryMessage } from './destination.interface.js';

/** A delivery waiting for its batch. */
interface Pending {
  readonly message: DeliveryMessage;
  readonly invokeMany: NonNullable<DurableSubscriber['invokeMany']>;
  readonly event: object;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The built-in `local` destination: runs the durable subscriber a row is for, in a transaction
 * together with an inbox row `(message_id, subscriber)`. A redelivered message whose inbox row
 * exists is acknowledged without running the subscriber again, so work done through the
 * transaction's manager happens exactly once.
 *
 * Subscribers that can take several deliveries at once (sagas, durable handlers unless
 * `batch: false`) get the deliveries the relay starts in the same tick (one claim) together, as
 * many per transaction as BatchSizer says (10 to 500, from how long the subscriber's work took),
 * and write the inbox rows themselves. Each delivery still succeeds
 * or fails alone: a failed one leaves no inbox row and no change, and is retried by the relay.
 * A claim holds at most one row per (subscriber, key) (the next waits for it to be delivered),
 * so a batch never reorders a key.
 */
@Injectable()
export class LocalDestination {
  private pending: Pending[] = [];
  private readonly sizer = new BatchSizer();

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly durable: DurableHandlerRegistry,
    private readonly codec: PayloadCodec,
  ) {}

  deliver(message: DeliveryMessage): Promise<void> {
    const subscriber = this.durable.find(message.type, message.subscriber);
    if (!subscriber) {
      return Promise.reject(
        new NonRetryableError(
          `No durable subscriber "${message.subscriber}" for type ${message.type} in this app (removed or renamed?)`,
        ),
      );
    }
    let event: object;
    try {
      event = this.codec.revive(subscriber.eventClass, message.payload) as object;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (subscriber.invokeMany === undefined) return this.deliverOne(message, subscriber.invoke, event);
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.flush());
      this.pending.push({ message, invokeMany: subscriber.invokeMany, event, resolve, reject });
    });
  }

  private async deliverOne(
    message: DeliveryMessage,
    invoke: (event: unknown, manager: EntityManager) => unknown,
    event: object,
  ): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const inserted = await rowsOf(manager, insertInboxBatch(this.options.schema, [message.id], message.subscriber));
      if (inserted.length === 0) return; // already processed: acknowledge the duplicate
      await runInScope(scopeOfMessage(message.id, message.headers), () => invoke(event, manager));
    });
  }

  private flush(): void {
    const bySubscriber = new Map<string, Pending[]>();
    for (const p of this.pending) {
      const list = bySubscriber.get(p.message.subscriber);
      if (list) list.push(p);
      else bySubscriber.set(p.message.subscriber, [p]);
    }
    this.pending = [];
    for (const [subscriber, list] of bySubscriber) {
      // Even batches: 30 deliveries make two transactions of 15 rather than 25 + 5.
      const size = Math.ceil(list.length / Math.ceil(list.length / this.sizer.size(subscriber)));
      for (let i = 0; i < list.length; i += size) void this.deliverBatch(list.slice(i, i + size));
    }
  }

  /** Settles every delivery of `batch`; never rejects. */
  private async deliverBatch(batch: Pending[]): Promise<void> {
    let errors: (Error | undefined)[];
    try {
      errors = await this.runBatch(batch);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const error = errors[i];
      if (error) p.reject(error);
      else p.resolve();
    });
  }

  /**
   * One transaction in which the subscriber records the inbox rows and runs the deliveries not
   * processed before; rerun from the start when it reports a conflict (a saga instance changed
   * concurrently).
   */
  private async runBatch(batch: Pending[]): Promise<(Error | undefined)[]> {
    const invokeMany = batch[0]!.invokeMany;
    const deliveries = batch.map((p) => ({
      id: p.message.id,
      type: p.message.type,
      event: p.event,
      headers: p.message.headers,
    }));
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.dataSource.transaction(async (manager) => {
          const started = performance.now();
          const errors = await invokeMany(deliveries, manager, attempt);
          this.sizer.record(batch[0]!.message.subscriber, deliveries.length, performance.now() - started);
          return errors;
        });
      } catch (error) {
        if (!(error instanceof TransactionConflict) || attempt + 1 >= MAX_CONFLICT_ATTEMPTS) throw error;
      }
    }
  }
}

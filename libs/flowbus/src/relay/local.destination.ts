import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { NonRetryableError } from '../errors/non-retryable.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { insertInbox } from '../outbox/outbox.queries.js';
import type { DeliveryMessage } from './destination.interface.js';

/**
 * The built-in `local` destination: runs the durable subscriber a row is for, in a transaction
 * together with an inbox row `(message_id, subscriber)`. A redelivered message whose inbox row
 * exists is acknowledged without running the subscriber again, so work done through the
 * transaction's manager happens exactly once.
 */
@Injectable()
export class LocalDestination {
  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly durable: DurableHandlerRegistry,
  ) {}

  async deliver(message: DeliveryMessage): Promise<void> {
    const subscriber = this.durable.find(message.type, message.subscriber);
    if (!subscriber) {
      throw new NonRetryableError(
        `No durable subscriber "${message.subscriber}" for type ${message.type} in this app (removed or renamed?)`,
      );
    }
    const event = subscriber.eventClass
      ? Object.assign(Object.create(subscriber.eventClass.prototype as object) as object, message.payload)
      : message.payload;
    await this.dataSource.transaction(async (manager) => {
      const q = insertInbox(this.options.schema, message.id, message.subscriber);
      const inserted: unknown[] = await manager.query(q.text, q.values);
      if (inserted.length === 0) return; // already processed: acknowledge the duplicate
      await subscriber.invoke(event, manager);
    });
  }
}

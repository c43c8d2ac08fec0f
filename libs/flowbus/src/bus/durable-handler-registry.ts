import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ConfigurationError } from '../errors/configuration.error.js';
import type { EventClass } from './event-type.js';

/**
 * A subscriber reached through the outbox and run by the relay's `local` destination: one
 * delivery at a time (`invoke`, durable `@HandleEvent` methods with `batch: false`) or several at
 * once (`invokeMany`, sagas and the other durable handlers).
 */
export type DurableSubscriber = {
  /**
   * Stable name stored in outbox and inbox rows: the `name` option of `@HandleEvent`, else
   * `ClassName.method`; `saga:<name>` for a saga.
   */
  readonly subscriber: string;
  /** Class the payload is restored into (its prototype); plain JSON when absent. */
  readonly eventClass?: EventClass;
} & (
  | {
      /** Runs one delivery in the caller's transaction, which also holds its inbox row. */
      readonly invoke: (event: unknown, manager: EntityManager) => unknown;
      readonly invokeMany?: undefined;
    }
  | {
      readonly invoke?: undefined;
      /**
       * Runs several deliveries in the caller's transaction, inbox included: records each
       * delivery's inbox row and acknowledges those recorded before without running them. Returns
       * one error or undefined per delivery, and leaves nothing in the database (inbox row
       * included) for the ones that failed. Throws TransactionConflict when the whole transaction
       * must be rerun; `attempt` counts the reruns (0 at first).
       */
      readonly invokeMany: (
        deliveries: readonly DurableDelivery[],
        manager: EntityManager,
        attempt: number,
      ) => Promise<(Error | undefined)[]>;
    }
);

/** A delivery handed to a subscriber that takes several at once. */
export interface DurableDelivery {
  readonly id: string;
  readonly type: string;
  readonly event: object;
  /** The message's headers (correlation, causation, trace context). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Durable subscribers by event type, and by subscriber name for the relay. */
@Injectable()
export class DurableHandlerRegistry {
  private readonly byType = new Map<string, DurableSubscriber[]>();
  private readonly byName = new Map<string, DurableSubscriber>();
  private pairsCache: ReturnType<DurableHandlerRegistry['pairs']> | undefined;

  add(eventType: string, subscriber: DurableSubscriber): void {
    const key = `${eventType}\u0000${subscriber.subscriber}`;
    if (this.byName.has(key)) {
      throw new ConfigurationError(`${subscriber.subscriber} subscribes to event ${eventType} durably twice`);
    }
    this.byName.set(key, subscriber);
    this.pairsCache = undefined;
    const list = this.byType.get(eventType);
    if (list) list.push(subscriber);
    else this.byType.set(eventType, [subscriber]);
  }

  subscribersOf(eventType: string): readonly DurableSubscriber[] {
    return this.byType.get(eventType) ?? [];
  }

  /** Every (event type, subscriber) pair of this app, as parallel arrays (SQL `unnest`). */
  pairs(): { types: string[]; names: string[]; kinds: ('handler' | 'saga')[] } {
    if (this.pairsCache) return this.pairsCache;
    const types: string[] = [];
    const names: string[] = [];
    const kinds: ('handler' | 'saga')[] = [];
    for (const [type, list] of this.byType) {
      for (const s of list) {
        types.push(type);
        names.push(s.subscriber);
        kinds.push(s.subscriber.startsWith('saga:') ? 'saga' : 'handler');
      }
    }
    this.pairsCache = { types, names, kinds };
    return this.pairsCache;
  }

  find(eventType: string, subscriber: string): DurableSubscriber | undefined {
    return this.byName.get(`${eventType}\u0000${subscriber}`);
  }
}

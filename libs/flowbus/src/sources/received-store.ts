import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { InvalidMessageError } from '../errors/invalid-message.error.js';
import { NoSubscriberError } from '../errors/no-subscriber.error.js';
import type { OutboxMessage } from '../outbox/outbox-message.interface.js';
import { OutboxService } from '../outbox/outbox.service.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import {
  countBacklog,
  deleteOldReceived,
  insertReceived,
  SOURCE_HEADER,
  SOURCE_ID_HEADER,
} from './received.queries.js';
import type { ReceivedMessage } from './received-message.interface.js';
import { CAUSATION_HEADER } from '../telemetry/message-scope.js';

/** What became of each message of a batch, by index. */
export type StoreOutcome = { kind: 'stored' } | { kind: 'duplicate' } | { kind: 'refused'; reason: string };

/**
 * Stores received messages for their local subscribers: in ONE statement (its own transaction),
 * records the message ids of the source (a redelivered or duplicated id adds nothing) and writes
 * the new messages through the outbox as `local` messages, one delivery per durable handler and
 * saga step. One round trip per batch, not a transaction's four: the source waits for it before
 * acknowledging, so on a busy machine each round trip is a wait of the whole pipeline.
 */
@Injectable()
export class ReceivedStore {
  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly outbox: OutboxService,
  ) {}

  /** Stores a batch atomically; rejects (nothing stored) when the database fails. */
  async store(source: string, messages: readonly ReceivedMessage[]): Promise<StoreOutcome[]> {
    const outcomes: StoreOutcome[] = messages.map(() => ({ kind: 'duplicate' }));
    // A message duplicated within the batch is stored once: its first copy stands for both.
    const firstOf = new Map<string, number>();
    messages.forEach((m, i) => {
      if (!firstOf.has(m.id)) firstOf.set(m.id, i);
    });
    let pending = [...firstOf.values()];
    while (pending.length > 0) {
      const result = await this.write(
        source,
        pending.map((i) => messages[i]!),
      );
      if ('fresh' in result) {
        for (const i of pending) if (result.fresh.has(messages[i]!.id)) outcomes[i] = { kind: 'stored' };
        break;
      }
      // The outbox refuses before writing anything: a refused message goes back to the broker's
      // dead-letter mechanism, its id unrecorded (stored when it comes back, requeued once its
      // subscriber is deployed), and the others are written again.
      const out = new Set(result.positions.map((p) => pending[p]!));
      for (const i of out) outcomes[i] = { kind: 'refused', reason: result.reason };
      pending = pending.filter((i) => !out.has(i));
    }
    return outcomes;
  }

  /** Undelivered stored messages of `source`, counted up to `limit`. */
  async backlog(source: string, limit: number): Promise<number> {
    const q = countBacklog(this.options.schema, source, limit, this.options.relay.storage);
    const { rows } = await poolOf(this.dataSource).query<{ n: number }>(q.text, q.values);
    return rows[0]?.n ?? 0;
  }

  /** Forgets received ids older than the deduplication window; returns how many. */
  async sweep(): Promise<number> {
    const { retentionMs, retentionBatchSize } = this.options.relay;
    const q = deleteOldReceived(this.options.schema, retentionMs, retentionBatchSize);
    return (await poolOf(this.dataSource).query(q.text, q.values)).rowCount ?? 0;
  }

  /**
   * The one place received messages enter the outbox, in one statement with the one recording
   * their ids: only those whose id it recorded now are written. Resolves with those ids, or with
   * the positions (in `list`) of the messages the outbox refused, and why; nothing was written
   * then (the outbox checks before writing).
   */
  private async write(
    source: string,
    list: readonly ReceivedMessage[],
  ): Promise<{ fresh: Set<string> } | { positions: number[]; reason: string }> {
    // Sorted, so that two instances storing overlapping batches lock the ids in one order.
    const record = insertReceived(this.options.schema, source, list.map((m) => m.id).sort());
    const rows: OutboxMessage[] = list.map((m) => ({
      destination: LOCAL_DESTINATION,
      type: m.type,
      payload: m.payload,
      ...(m.key === undefined ? {} : { key: m.key }),
      // The sender's correlation id and trace context (when it sent them) carry on here; the
      // message received is caused by the message sent.
      headers: { ...m.headers, [CAUSATION_HEADER]: m.id, [SOURCE_HEADER]: source, [SOURCE_ID_HEADER]: m.id },
    }));
    try {
      return { fresh: new Set(await this.outbox.enqueueGuarded(record, SOURCE_ID_HEADER, rows)) };
    } catch (error) {
      if (error instanceof NoSubscriberError) {
        const positions = list.flatMap((m, p) => (m.type === error.eventType ? [p] : []));
        return { positions, reason: error.message };
      }
      const index = error instanceof InvalidMessageError ? /^messages\[(\d+)\]/.exec(error.field)?.[1] : undefined;
      if (index !== undefined) return { positions: [Number(index)], reason: (error as Error).message };
      throw error;
    }
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { DurableDelivery } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { rowsOf } from '../database/run-query.js';
import { MAX_CONFLICT_ATTEMPTS, TransactionConflict } from '../database/transaction-conflict.js';
import { SagaConcurrencyError } from '../errors/saga-concurrency.error.js';
import { SagaStepError } from '../errors/saga-step.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { CommitWatcher } from '../outbox/commit-watcher.js';
import { OutboxRows } from '../outbox/outbox-rows.js';
import { OutboxService } from '../outbox/outbox.service.js';
import { PayloadCodec } from '../outbox/payload-codec.js';
import { FlowbusTelemetry } from '../telemetry/flowbus-telemetry.js';
import type { SagaDefinition, StepDefinition } from './saga-definition.js';
import { SagaPersistence } from './saga.persistence.js';
import { deleteInboxRows, insertInboxBatch } from '../inbox/inbox.queries.js';
import {
  deleteFiredTimeouts,
  inboxAndLoadSagas,
  loadSagas,
  lockInstances,
  lockTimeouts,
  type SagaRow,
  type TimeoutRow,
} from './saga.queries.js';
import { StepBatch, type BatchItem } from './step-batch.js';
import { TimeoutAlarm } from './timeout-alarm.js';

/**
 * Runs saga steps, alone (bus path) or in batches (the relay's deliveries, fired timeouts), with
 * StepBatch: load the instances, run the steps, save state, status, messages and timeouts in the
 * same transaction. Concurrency is optimistic on `version`; a transaction that loses the race is
 * rerun on a fresh load that takes the row locks, so it cannot lose twice.
 */
@Injectable()
export class SagaEngine {
  private readonly logger = new Logger('Flowbus:Sagas');
  private readonly persistence: SagaPersistence;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    outbox: OutboxService,
    rows: OutboxRows,
    commits: CommitWatcher,
    private readonly alarm: TimeoutAlarm,
    private readonly codec: PayloadCodec,
    private readonly telemetry: FlowbusTelemetry,
  ) {
    this.persistence = new SagaPersistence(
      options.schema,
      outbox,
      rows,
      codec,
      commits,
      options.relay.notify,
      options.relay.storage,
    );
  }

  /**
   * Applies an event published on the in-process bus: one transaction of its own, optimistic at
   * first; a step that loses the race for its instance (VersionConflict) is rerun on a fresh load
   * that locks it, so it cannot lose twice to steps of the same instance.
   * @throws SagaStepError when the step throws, SagaConcurrencyError after MAX_CONFLICT_ATTEMPTS
   */
  async handleEvent(saga: SagaDefinition, step: StepDefinition, event: object): Promise<void> {
    const correlationId = step.correlate(event);
    if (typeof correlationId !== 'string' || correlationId === '') throw correlationError(saga, step, correlationId);
    const item: BatchItem = { handler: step, input: event, correlationId };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dataSource.transaction(async (manager) => {
          await rowsOf(manager, lockInstances(this.options.schema, saga.name, [correlationId]));
          const load = loadSagas(this.options.schema, saga.name, [correlationId], attempt > 1);
          const [error] = await this.runBatch(saga, [item], manager, await rowsOf<SagaRow>(manager, load));
          if (error) throw error;
        });
      } catch (error) {
        if (!(error instanceof TransactionConflict)) throw error;
        if (attempt >= MAX_CONFLICT_ATTEMPTS) throw new SagaConcurrencyError(saga.name, correlationId, attempt);
      }
    }
  }

  /**
   * Applies events the relay delivered together, in the caller's transaction (the `local`
   * destination's): records each in the inbox under `subscriber` (a delivery already there is a
   * duplicate and is acknowledged without running), then runs one StepBatch. Optimistic at first
   * (no row locks; inbox and instances in one round trip); throws VersionConflict when an
   * instance was saved or created concurrently, and the caller reruns the whole transaction with
   * `attempt` + 1, which locks the instances.
   * @returns per delivery, its error (it left no trace, inbox row included) or undefined
   */
  async handleEvents(
    saga: SagaDefinition,
    subscriber: string,
    deliveries: readonly DurableDelivery[],
    manager: EntityManager,
    attempt = 0,
  ): Promise<(Error | undefined)[]> {
    const schema = this.options.schema;
    const errors: (Error | undefined)[] = new Array<Error | undefined>(deliveries.length);
    const correlationIds: (string | undefined)[] = deliveries.map((d, i) => {
      const step = saga.steps.get(d.type);
      if (!step) {
        errors[i] = new SagaStepError(saga.name, saga.className, d.type, '?', new TypeError('no step for this type'));
        return undefined;
      }
      const correlationId = step.correlate(d.event);
      if (typeof correlationId === 'string' && correlationId !== '') return correlationId;
      errors[i] = correlationError(saga, step, correlationId);
      return undefined;
    });
    // Inbox keys in one order too: two batches recording the same redelivered messages queue.
    const messageIds = deliveries.map((d) => d.id).sort();
    const wanted = [...new Set(correlationIds.filter((c): c is string => c !== undefined))];
    // Before any write: the instances' advisory locks, in one order (see lockInstances).
    if (wanted.length > 0) await rowsOf(manager, lockInstances(schema, saga.name, wanted));
    let fresh: Set<string>;
    let loaded: SagaRow[];
    if (attempt === 0) {
      const q = inboxAndLoadSagas(schema, { messageIds, subscriber, name: saga.name, correlationIds: wanted });
      const rows = await rowsOf<SagaRow & { fresh_ids: string[] }>(manager, q);
      fresh = new Set(rows[0]?.fresh_ids ?? []);
      loaded = rows.filter((r) => r.id !== null);
    } else {
      const inserted = await rowsOf<{ message_id: string }>(manager, insertInboxBatch(schema, messageIds, subscriber));
      fresh = new Set(inserted.map((r) => r.message_id));
      loaded = await rowsOf<SagaRow>(manager, loadSagas(schema, saga.name, wanted, true));
    }
    const items: BatchItem[] = [];
    const positions: number[] = [];
    deliveries.forEach((d, i) => {
      if (!fresh.has(d.id)) {
        errors[i] = undefined; // a duplicate: processed before, acknowledged
        return;
      }
      if (errors[i]) return;
      items.push({
        handler: saga.steps.get(d.type)!,
        input: d.event,
        correlationId: correlationIds[i]!,
        cause: { id: d.id, headers: d.headers },
      });
      positions.push(i);
    });
    const results = items.length > 0 ? await this.runBatch(saga, items, manager, loaded) : [];
    results.forEach((e, k) => (errors[positions[k]!] = e));
    // A failed delivery keeps no inbox row, so its retry runs it.
    const failed = deliveries.filter((d, i) => errors[i] && fresh.has(d.id)).map((d) => d.id);
    if (failed.length > 0) await rowsOf(manager, deleteInboxRows(schema, failed, subscriber));
    return errors;
  }

  /**
   * Fires claimed timeouts of one saga in one transaction. A timeout rescheduled, cancelled or
   * fired meanwhile (token changed, row gone) or whose saga finished is dropped silently.
   * @returns per row, its error (the row stays, leased, and fires again later) or undefined
   */
  async fireTimeouts(saga: SagaDefinition, rows: readonly TimeoutRow[]): Promise<(Error | undefined)[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.fireTimeoutsOnce(saga, rows);
      } catch (error) {
        if (!(error instanceof TransactionConflict) || attempt >= MAX_CONFLICT_ATTEMPTS) throw error;
      }
    }
  }

  private fireTimeoutsOnce(saga: SagaDefinition, rows: readonly TimeoutRow[]): Promise<(Error | undefined)[]> {
    const schema = this.options.schema;
    return this.dataSource.transaction(async (manager) => {
      // One lock order everywhere: the saga instance, then its timeouts. A step saves its instance
      // and then deletes or replaces its timeouts (saveBatch); locking the timeouts first here
      // deadlocked every finishing step that landed as its timeout fired. With the instances
      // locked first, the two queue and whichever comes second sees the other's result (a fired
      // timeout's row gone, or a finished instance whose timeout is dropped).
      const correlationIds = [...new Set(rows.map((r) => r.correlation_id))];
      await rowsOf(manager, lockInstances(schema, saga.name, correlationIds));
      const instances = await rowsOf<SagaRow>(manager, loadSagas(schema, saga.name, correlationIds, true));
      const ids = rows.map((r) => r.id);
      const locked = await rowsOf<{ id: string; token: string }>(manager, lockTimeouts(schema, ids));
      const tokens = new Map(locked.map((r) => [r.id, r.token]));
      const items: BatchItem[] = [];
      const itemRows: TimeoutRow[] = [];
      const dropped: TimeoutRow[] = [];
      const failures = new Map<TimeoutRow, Error>();
      for (const row of rows) {
        if (tokens.get(row.id) !== row.token) continue;
        const handler = saga.timeouts.get(row.timeout_type);
        if (!handler) {
          this.logger.warn(
            `Saga "${saga.name}" has no @OnTimeout for ${row.timeout_type}; timeout of "${row.correlation_id}" dropped`,
          );
          dropped.push(row);
          continue;
        }
        let input: object;
        try {
          input = this.codec.revive(handler.timeoutClass, row.payload) as object;
        } catch (error) {
          // This timeout alone fails (it stays, leased, and is tried again); the others fire.
          failures.set(row, error as Error);
          continue;
        }
        items.push({ handler, input, correlationId: row.correlation_id });
        itemRows.push(row);
      }
      // Before the steps' own timeout writes: a step that rescheduled its timeout gave the row a new token.
      const deleteFired = async (errors: readonly (Error | undefined)[]) => {
        const fired = [...dropped, ...itemRows.filter((_, k) => !errors[k])];
        if (fired.length === 0) return;
        const q = deleteFiredTimeouts(
          schema,
          fired.map((r) => r.id),
          fired.map((r) => r.token),
        );
        await rowsOf(manager, q);
      };
      if (items.length === 0) {
        await deleteFired([]);
      } else {
        const errors = await this.runBatch(saga, items, manager, instances, deleteFired);
        errors.forEach((e, k) => e && failures.set(itemRows[k]!, e));
      }
      return rows.map((r) => failures.get(r));
    });
  }

  /**
   * Runs a StepBatch on the instances `loaded` and saves it, in the caller's transaction. A
   * version conflict (VersionConflict) is left to the transaction's owner, which reruns it all.
   * `beforeSave` writes in between (fired timeouts).
   */
  private async runBatch(
    saga: SagaDefinition,
    items: readonly BatchItem[],
    manager: EntityManager,
    loaded: readonly SagaRow[],
    beforeSave?: (errors: readonly (Error | undefined)[]) => Promise<void>,
  ): Promise<(Error | undefined)[]> {
    const client = (await manager.queryRunner!.connect()) as PoolClient;
    const now = this.options.clock.now();
    const batch = new StepBatch(saga, manager, client, now, this.logger, this.telemetry, (ctx) =>
      this.persistence.prepare(ctx, manager),
    );
    const errors = await batch.run(items, loaded);
    await beforeSave?.(errors);
    await this.persistence.saveBatch(saga.name, batch, manager, new Date(now));
    for (const ctx of batch.applied) for (const t of ctx.scheduled.values()) this.alarm.arm(t.dueAt);
    return errors;
  }
}

function correlationError(saga: SagaDefinition, step: StepDefinition, correlationId: unknown): SagaStepError {
  return new SagaStepError(
    saga.name,
    `${saga.className}.${step.methodName}`,
    step.eventType,
    String(correlationId),
    new TypeError(`correlate() must return a non-empty string, got ${typeof correlationId}`),
  );
}

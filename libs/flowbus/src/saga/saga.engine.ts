import { Inject, Injectable, Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { rowsOf } from '../database/run-query.js';
import { MAX_CONFLICT_ATTEMPTS, TransactionConflict } from '../database/transaction-conflict.js';
import { SagaConcurrencyError } from '../errors/saga-concurrency.error.js';
import { SagaStepError } from '../errors/saga-step.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { CommitWatcher } from '../outbox/commit-watcher.js';
import { OutboxRows } from '../outbox/outbox-rows.js';
import { OutboxService } from '../outbox/outbox.service.js';
import type { CompensationMessage } from './saga-context.interface.js';
import type { SagaDefinition, StepDefinition, TimeoutDefinition } from './saga-definition.js';
import { StepContext } from './step-context.js';
import { SagaPersistence, VersionConflict } from './saga.persistence.js';
import { deleteInboxRows, insertInboxBatch } from '../outbox/outbox.queries.js';
import {
  deleteFiredTimeouts,
  inboxAndLoadSagas,
  loadSaga,
  loadSagas,
  lockTimeouts,
  type SagaRow,
  type TimeoutRow,
} from './saga.queries.js';
import { StepBatch, type BatchItem } from './step-batch.js';
import { TimeoutAlarm } from './timeout-alarm.js';

/** What happened to an event or timeout given to a saga. */
export type StepOutcome = 'applied' | 'ignored';

const MAX_ATTEMPTS = 5;

/**
 * Runs saga steps: load the instance, run the step, save state, status, messages and timeouts in
 * one transaction. Concurrency is optimistic on `version`; a step that loses the race is rerun on
 * a fresh load that takes the row lock, so it cannot lose twice to steps of the same instance.
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
  ) {
    this.persistence = new SagaPersistence(options.schema, outbox, rows, commits, options.relay.notify);
  }

  /**
   * Applies an event to its instance. With `manager` (the outbox path) the step runs inside that
   * transaction, retried on conflicts through savepoints so the inbox row stays; without it (the
   * bus path) each attempt is a transaction of its own.
   */
  async handleEvent(
    saga: SagaDefinition,
    step: StepDefinition,
    event: object,
    manager?: EntityManager,
  ): Promise<StepOutcome> {
    const correlationId = step.correlate(event);
    if (typeof correlationId !== 'string' || correlationId === '') throw correlationError(saga, step, correlationId);
    const attempt = (m: EntityManager, lock: boolean) => this.runStep(saga, step, event, correlationId, m, lock);
    return manager
      ? this.inSavepoints(manager, saga, correlationId, attempt)
      : this.inTransactions(saga, correlationId, attempt);
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
    deliveries: readonly { id: string; type: string; event: object }[],
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
    const messageIds = deliveries.map((d) => d.id);
    const wanted = [...new Set(correlationIds.filter((c): c is string => c !== undefined))];
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
      items.push({ handler: saga.steps.get(d.type)!, input: d.event, correlationId: correlationIds[i]! });
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
        return await this.fireTimeoutsOnce(saga, rows, attempt > 1);
      } catch (error) {
        if (!(error instanceof TransactionConflict) || attempt >= MAX_CONFLICT_ATTEMPTS) throw error;
      }
    }
  }

  private fireTimeoutsOnce(
    saga: SagaDefinition,
    rows: readonly TimeoutRow[],
    lock: boolean,
  ): Promise<(Error | undefined)[]> {
    const schema = this.options.schema;
    return this.dataSource.transaction(async (manager) => {
      const ids = rows.map((r) => r.id);
      const locked = await rowsOf<{ id: string; token: string }>(manager, lockTimeouts(schema, ids));
      const tokens = new Map(locked.map((r) => [r.id, r.token]));
      const items: BatchItem[] = [];
      const itemRows: TimeoutRow[] = [];
      const dropped: TimeoutRow[] = [];
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
        const input = Object.assign(Object.create(handler.timeoutClass.prototype as object) as object, row.payload);
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
      const failures = new Map<TimeoutRow, Error>();
      if (items.length === 0) {
        await deleteFired([]);
      } else {
        const ids = [...new Set(items.map((i) => i.correlationId))];
        const loaded = await rowsOf<SagaRow>(manager, loadSagas(schema, saga.name, ids, lock));
        const errors = await this.runBatch(saga, items, manager, loaded, deleteFired);
        errors.forEach((e, k) => e && failures.set(itemRows[k]!, e));
      }
      return rows.map((r) => failures.get(r));
    });
  }

  private async runStep(
    saga: SagaDefinition,
    step: StepDefinition,
    event: object,
    correlationId: string,
    manager: EntityManager,
    lock: boolean,
  ): Promise<StepOutcome> {
    const [instance] = await rowsOf<SagaRow>(manager, loadSaga(this.options.schema, saga.name, correlationId, lock));
    if (!instance && !step.start) {
      this.logger.warn(
        `Saga "${saga.name}": ${step.eventType} for "${correlationId}" ignored, no such instance (and ${saga.className}.${step.methodName} is not a start step)`,
      );
      return 'ignored';
    }
    if (instance && instance.status !== 'running') {
      this.logger.log(
        `Saga "${saga.name}": ${step.eventType} for "${correlationId}" ignored, instance is ${instance.status}`,
      );
      return 'ignored';
    }
    await this.apply(saga, step, event, correlationId, instance, manager);
    return 'applied';
  }

  private async apply(
    saga: SagaDefinition,
    handler: StepDefinition | TimeoutDefinition,
    input: object,
    correlationId: string,
    instance: SagaRow | undefined,
    manager: EntityManager,
  ): Promise<void> {
    const ctx = new StepContext<object>(saga.name, correlationId, !instance, manager, this.options.clock.now(), {
      state: instance ? instance.state : saga.initialState(),
      compensations: (instance?.compensations ?? []) as CompensationMessage[],
      reason: instance?.reason ?? null,
    });
    const type = 'eventType' in handler ? handler.eventType : handler.timeoutType;
    try {
      await handler.method.call(saga.instance, input, ctx);
    } catch (error) {
      throw new SagaStepError(saga.name, `${saga.className}.${handler.methodName}`, type, correlationId, error);
    }
    await this.persistence.save(ctx, instance, manager, new Date(this.options.clock.now()));
    for (const t of ctx.scheduled.values()) this.alarm.arm(t.dueAt);
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
    const batch = new StepBatch(saga, manager, client, now, this.logger);
    const errors = await batch.run(items, loaded);
    await beforeSave?.(errors);
    await this.persistence.saveBatch(saga.name, batch, manager, new Date(now));
    for (const ctx of batch.applied) for (const t of ctx.scheduled.values()) this.alarm.arm(t.dueAt);
    return errors;
  }

  private async inTransactions(
    saga: SagaDefinition,
    correlationId: string,
    attempt: (m: EntityManager, lock: boolean) => Promise<StepOutcome>,
  ): Promise<StepOutcome> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      try {
        return await this.dataSource.transaction((m) => attempt(m, i > 0));
      } catch (error) {
        if (!(error instanceof VersionConflict)) throw error;
      }
    }
    throw new SagaConcurrencyError(saga.name, correlationId, MAX_ATTEMPTS);
  }

  private async inSavepoints(
    manager: EntityManager,
    saga: SagaDefinition,
    correlationId: string,
    attempt: (m: EntityManager, lock: boolean) => Promise<StepOutcome>,
  ): Promise<StepOutcome> {
    const runner = manager.queryRunner!;
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      await runner.startTransaction(); // nested: a SAVEPOINT
      try {
        const outcome = await attempt(manager, i > 0);
        await runner.commitTransaction(); // RELEASE SAVEPOINT
        return outcome;
      } catch (error) {
        await runner.rollbackTransaction(); // ROLLBACK TO SAVEPOINT
        if (!(error instanceof VersionConflict)) throw error;
      }
    }
    throw new SagaConcurrencyError(saga.name, correlationId, MAX_ATTEMPTS);
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

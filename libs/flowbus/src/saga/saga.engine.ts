import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { rowsOf } from '../database/run-query.js';
import { SagaConcurrencyError } from '../errors/saga-concurrency.error.js';
import { SagaStepError } from '../errors/saga-step.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { OutboxService } from '../outbox/outbox.service.js';
import type { CompensationMessage } from './saga-context.interface.js';
import type { SagaDefinition, StepDefinition, TimeoutDefinition } from './saga-definition.js';
import { StepContext } from './step-context.js';
import { SagaPersistence, VersionConflict } from './saga.persistence.js';
import { loadSaga, takeTimeout, type SagaRow, type TimeoutRow } from './saga.queries.js';
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
    private readonly alarm: TimeoutAlarm,
  ) {
    this.persistence = new SagaPersistence(options.schema, outbox);
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
    if (typeof correlationId !== 'string' || correlationId === '') {
      throw new SagaStepError(
        saga.name,
        `${saga.className}.${step.methodName}`,
        step.eventType,
        String(correlationId),
        new TypeError(`correlate() must return a non-empty string, got ${typeof correlationId}`),
      );
    }
    const attempt = (m: EntityManager, lock: boolean) => this.runStep(saga, step, event, correlationId, m, lock);
    return manager
      ? this.inSavepoints(manager, saga, correlationId, attempt)
      : this.inTransactions(saga, correlationId, attempt);
  }

  /** Fires a claimed timeout; drops it silently when stale (rescheduled, cancelled) or the saga finished. */
  async fireTimeout(saga: SagaDefinition, row: TimeoutRow): Promise<StepOutcome> {
    const handler = saga.timeouts.get(row.timeout_type);
    return this.dataSource.transaction(async (manager) => {
      const taken = await rowsOf(manager, takeTimeout(this.options.schema, row.id, row.token));
      if (taken.length === 0) return 'ignored';
      const [instance] = await rowsOf<SagaRow>(
        manager,
        loadSaga(this.options.schema, saga.name, row.correlation_id, true),
      );
      if (!instance || instance.status !== 'running') return 'ignored';
      if (!handler) {
        this.logger.warn(
          `Saga "${saga.name}" has no @OnTimeout for ${row.timeout_type}; timeout of "${row.correlation_id}" dropped`,
        );
        return 'ignored';
      }
      const timeout = Object.assign(Object.create(handler.timeoutClass.prototype as object) as object, row.payload);
      await this.apply(saga, handler, timeout, row.correlation_id, instance, manager);
      return 'applied';
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

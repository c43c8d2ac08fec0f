import type { Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { EntityManager } from 'typeorm';
import { SagaStepError } from '../errors/saga-step.error.js';
import type { CompensationMessage, SagaStatus } from './saga-context.interface.js';
import type { SagaDefinition, StepDefinition, TimeoutDefinition } from './saga-definition.js';
import type { SagaRow, SagaWrites } from './saga.queries.js';
import type { FlowbusTelemetry, StepCause } from '../telemetry/flowbus-telemetry.js';
import { CORRELATION_HEADER } from '../telemetry/message-scope.js';
import { StepContext } from './step-context.js';
import { LazySavepoint } from '../database/lazy-savepoint.js';

/** An event (for a step) or a fired timeout for one instance of the batch's saga. */
export interface BatchItem {
  readonly handler: StepDefinition | TimeoutDefinition;
  readonly input: object;
  readonly correlationId: string;
  /** The delivered message that triggered a step (none on the bus path and for timeouts). */
  readonly cause?: StepCause;
}

/** An instance as the batch sees it: as loaded, then as each applied step left it. */
interface Instance {
  readonly row: SagaRow | undefined;
  /** State for the next step: the loaded object at first, then the JSON the last step left. */
  state: object | string;
  compensations: CompensationMessage[];
  reason: string | null;
  status: SagaStatus;
  steps: number;
}

/**
 * Runs steps of one saga in one transaction (a batch of the relay's deliveries, of fired timeouts,
 * or the one step of a bus publish): on the instances the caller loaded, the steps run one after
 * the other in memory (several for one instance see each other's state), and everything they
 * recorded is written afterwards in one statement (SagaPersistence.saveBatch). A step that throws
 * is left out: its instance keeps the state from before it, and what it wrote through
 * `ctx.manager` is rolled back to its savepoint.
 */
export class StepBatch {
  /** The contexts of the applied steps, in order. */
  readonly applied: StepContext<object>[] = [];
  private readonly instances = new Map<string, Instance>();

  constructor(
    private readonly saga: SagaDefinition,
    private readonly manager: EntityManager,
    private readonly client: PoolClient,
    private readonly now: number,
    private readonly logger: Logger,
    private readonly telemetry: FlowbusTelemetry,
    /**
     * Builds the outbox rows of what a step published and sent into `ctx.outboxRows`, right after
     * the step returned: a message nobody subscribes to fails that step alone (NoSubscriberError),
     * not the batch's save.
     */
    private readonly prepare: (ctx: StepContext<object>) => Promise<void>,
  ) {}

  /**
   * Runs `items` in order on the instances `loaded` (read by the caller, with their versions: the
   * save checks every version read, see SagaPersistence.saveBatch); returns each item's error,
   * undefined when it was applied or ignored.
   */
  async run(items: readonly BatchItem[], loaded: readonly SagaRow[]): Promise<(Error | undefined)[]> {
    for (const row of loaded) {
      this.instances.set(row.correlation_id, {
        row,
        state: row.state,
        compensations: row.compensations as CompensationMessage[],
        reason: row.reason,
        status: row.status as SagaStatus,
        steps: 0,
      });
    }
    const savepoint = new LazySavepoint(this.client, this.manager);
    const errors: (Error | undefined)[] = [];
    for (const item of items) errors.push(await this.runOne(item, savepoint));
    return errors;
  }

  /** What to write: the instances to update (with the ids and versions read) and to create. */
  writes(): { ids: string[]; updates: SagaWrites; inserts: SagaWrites } {
    const ids: string[] = [];
    const updates = emptyWrites();
    const inserts = emptyWrites();
    // In id order, as the updates then lock the rows: two batches never wait on each other in a cycle.
    const changed = [...this.instances].filter(([, i]) => i.steps > 0);
    const idOf = (i: Instance) => i.row?.id ?? '';
    changed.sort(([, a], [, b]) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
    for (const [correlationId, i] of changed) {
      const target = i.row ? updates : inserts;
      if (i.row) ids.push(i.row.id);
      target.correlationIds.push(correlationId);
      target.versions.push(i.row ? i.row.version : i.steps);
      target.steps.push(i.steps);
      target.statuses.push(i.status);
      target.states.push(i.state as string);
      target.compensations.push(JSON.stringify(i.compensations));
      target.reasons.push(i.reason);
    }
    return { ids, updates, inserts };
  }

  private async runOne(item: BatchItem, savepoint: LazySavepoint): Promise<Error | undefined> {
    const { saga } = this;
    const handler = item.handler;
    const isStep = 'eventType' in handler;
    const type = isStep ? handler.eventType : handler.timeoutType;
    const instance = this.instances.get(item.correlationId);
    if (!instance && !(isStep && handler.start)) {
      if (isStep) {
        this.logger.warn(
          `Saga "${saga.name}": ${type}${causeOf(item)} for "${item.correlationId}" ignored, no such instance (and ${saga.className}.${handler.methodName} is not a start step)`,
        );
      }
      return undefined;
    }
    if (instance && instance.status !== 'running') {
      if (isStep) {
        this.logger.log(
          `Saga "${saga.name}": ${type}${causeOf(item)} for "${item.correlationId}" ignored, instance is ${instance.status}`,
        );
      }
      return undefined;
    }
    const ctx = new StepContext<object>(saga.name, item.correlationId, !instance, savepoint.managerOf, this.now, {
      state: !instance
        ? saga.initialState()
        : typeof instance.state === 'string'
          ? (JSON.parse(instance.state) as object)
          : instance.state,
      compensations: instance?.compensations ?? [],
      reason: instance?.reason ?? null,
    });
    let failure: { error: unknown } | undefined;
    let state = '';
    try {
      const what = {
        saga: saga.name,
        correlationId: item.correlationId,
        handler: `${saga.className}.${handler.methodName}`,
        type,
        timeout: !isStep,
      };
      await this.telemetry.step(what, item.cause, async () => {
        await handler.method.call(saga.instance, item.input, ctx);
        await this.prepare(ctx);
      });
      state = JSON.stringify(ctx.state ?? {});
    } catch (error) {
      failure = { error };
    }
    try {
      await savepoint.close(!failure);
    } catch (error) {
      // The step returned but left the transaction aborted (see LazySavepoint.close): it fails alone.
      if (failure) throw error;
      failure = { error };
    }
    if (failure) {
      return new SagaStepError(
        saga.name,
        `${saga.className}.${handler.methodName}`,
        type,
        item.correlationId,
        failure.error,
      );
    }
    const next: Instance = instance ?? {
      row: undefined,
      state,
      compensations: [],
      reason: null,
      status: 'running',
      steps: 0,
    };
    next.state = state;
    next.compensations = ctx.compensations;
    next.reason = ctx.reason;
    next.status = ctx.savedStatus;
    next.steps++;
    this.instances.set(item.correlationId, next);
    this.applied.push(ctx);
    return undefined;
  }
}

/** ` (message <id> correlation <id>)` of an item the relay delivered, for log lines; '' otherwise. */
function causeOf(item: BatchItem): string {
  if (!item.cause) return '';
  const correlation = item.cause.headers[CORRELATION_HEADER];
  return ` (message ${item.cause.id}${correlation ? ` correlation ${correlation}` : ''})`;
}

function emptyWrites(): SagaWrites {
  return { correlationIds: [], versions: [], steps: [], statuses: [], states: [], compensations: [], reasons: [] };
}

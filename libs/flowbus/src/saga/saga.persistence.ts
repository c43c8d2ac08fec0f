import type { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { rowsOf } from '../database/run-query.js';
import type { OutboxService } from '../outbox/outbox.service.js';
import type { StepContext } from './step-context.js';
import {
  deleteAllTimeouts,
  deleteTimeout,
  insertSaga,
  updateSaga,
  upsertTimeout,
  type SagaRow,
} from './saga.queries.js';

/** Another step saved the instance first (or created it concurrently): rerun on a fresh load. */
export class VersionConflict extends Error {}

/** Writes what a step recorded in its context, in the step's transaction. */
export class SagaPersistence {
  constructor(
    private readonly schema: string,
    private readonly outbox: OutboxService,
  ) {}

  async save(
    ctx: StepContext<object>,
    instance: SagaRow | undefined,
    manager: EntityManager,
    now: Date,
  ): Promise<void> {
    // The instance row first: a conflict is detected before anything else is written.
    const fields = {
      status: ctx.savedStatus,
      state: JSON.stringify(ctx.state ?? {}),
      compensations: JSON.stringify(ctx.compensations),
      reason: ctx.reason,
      now,
    };
    const saved = instance
      ? await rowsOf(manager, updateSaga(this.schema, { id: instance.id, version: instance.version, ...fields }))
      : await rowsOf(
          manager,
          insertSaga(this.schema, { name: ctx.sagaName, correlationId: ctx.correlationId, ...fields }),
        );
    if (saved.length === 0) throw new VersionConflict();

    if (ctx.finished) {
      await rowsOf(manager, deleteAllTimeouts(this.schema, ctx.sagaName, ctx.correlationId));
    } else {
      for (const type of ctx.cancelled)
        await rowsOf(manager, deleteTimeout(this.schema, ctx.sagaName, ctx.correlationId, type));
      for (const t of ctx.scheduled.values()) {
        const q = upsertTimeout(this.schema, {
          name: ctx.sagaName,
          correlationId: ctx.correlationId,
          type: t.type,
          token: randomUUID(),
          payload: JSON.stringify(t.payload),
          dueAt: t.dueAt,
        });
        await rowsOf(manager, q);
      }
    }

    for (const event of ctx.published) await this.outbox.publish(manager, event);
    const messages = [...ctx.sent];
    if (ctx.compensating) {
      // Reverse order of recording; one key per instance keeps them in that order on delivery.
      for (const c of [...ctx.compensations].reverse()) messages.push({ ...c, key: ctx.key });
    }
    if (messages.length > 0) await this.outbox.enqueue(manager, messages);
  }
}

import type { EntityManager } from 'typeorm';
import { eventTypeOf, eventTypeOfInstance, type EventInstance } from '../bus/event-type.js';
import { SagaStateError } from '../errors/saga-state.error.js';
import type { OutboxMessage } from '../outbox/outbox-message.interface.js';
import type { LogInsertRow } from '../outbox/log.queries.js';
import type { OutboxInsertRow } from '../outbox/outbox.queries.js';
import type { CompensationMessage, SagaContext, SagaStatus } from './saga-context.interface.js';

/** A timeout the step scheduled. */
export interface ScheduledTimeout {
  readonly type: string;
  readonly payload: object;
  readonly dueAt: Date;
}

/**
 * The `SagaContext` handed to a step. It only records what the step asks for; the engine writes
 * it all in the step's transaction after the step returned, so a step that throws (or loses a
 * version race and is rerun) leaves no trace.
 */
export class StepContext<S extends object> implements SagaContext<S> {
  state: S;
  status: SagaStatus = 'running';
  reason: string | null;
  readonly published: object[] = [];
  readonly sent: OutboxMessage[] = [];
  readonly scheduled = new Map<string, ScheduledTimeout>();
  readonly cancelled = new Set<string>();
  readonly compensations: CompensationMessage[];
  /** How many of `compensations` earlier steps recorded. */
  readonly savedCompensations: number;
  compensating = false;
  /** The outbox rows of what the step published and sent, built (and checked) when it returned. */
  outboxRows: OutboxInsertRow[] = [];
  /** The same for the log storage (`relay.storage: 'log'`): one row per event or message. */
  logRows: LogInsertRow[] = [];

  /**
   * @param manager the step's transaction, or a function returning it: steps run in a batch get
   * their savepoint only when they touch the manager (see LazySavepoint)
   */
  constructor(
    readonly name: string,
    readonly correlationId: string,
    readonly isNew: boolean,
    private readonly managerOf: EntityManager | (() => EntityManager),
    private readonly now: number,
    saved: { state: S; compensations: CompensationMessage[]; reason: string | null },
  ) {
    this.state = saved.state;
    this.compensations = [...saved.compensations];
    this.savedCompensations = saved.compensations.length;
    this.reason = saved.reason;
  }

  get manager(): EntityManager {
    return typeof this.managerOf === 'function' ? this.managerOf() : this.managerOf;
  }

  /** Per-instance key: the instance's messages (and so its compensations) stay in order. */
  get key(): string {
    return `${this.name}:${this.correlationId}`;
  }

  get finished(): boolean {
    return this.status !== 'running';
  }

  publish(event: EventInstance): void {
    eventTypeOfInstance(event, 'publish'); // a plain object or a class fails here, in the step, not at commit
    this.published.push(event);
  }

  send(destination: string, type: string, payload: unknown, headers?: Record<string, string>): void {
    this.sent.push({ destination, type, payload, headers, key: this.key });
  }

  scheduleTimeout(timeout: EventInstance, delay: number | { at: Date }): void {
    this.assertRunning('scheduleTimeout');
    // A class or a plain object fails here, at the call, rather than as a NULL payload at commit.
    const type = eventTypeOfInstance(timeout, 'scheduleTimeout');
    const dueAt = typeof delay === 'number' ? new Date(this.now + delay) : delay.at;
    if (!(dueAt instanceof Date) || Number.isNaN(dueAt.getTime())) {
      throw new SagaStateError(`scheduleTimeout(${type}): delay must be milliseconds or { at: Date }`);
    }
    this.cancelled.delete(type);
    this.scheduled.set(type, { type, payload: timeout, dueAt });
  }

  cancelTimeout(timeoutClass: abstract new (...args: never[]) => object): void {
    const type = eventTypeOf(timeoutClass);
    this.scheduled.delete(type);
    this.cancelled.add(type);
  }

  addCompensation(message: CompensationMessage): void {
    this.assertRunning('addCompensation');
    this.compensations.push(message);
  }

  compensate(reason: string): void {
    this.finish('compensating', reason);
    this.compensating = true;
  }

  complete(): void {
    this.finish('completed', null);
  }

  fail(reason: string): void {
    this.finish('failed', reason);
  }

  /** The messages the step sends: its own, then its compensations (in reverse) when it compensates. */
  outgoing(): OutboxMessage[] {
    if (!this.compensating) return this.sent;
    const messages = [...this.sent];
    // Reverse order of recording; one key per instance keeps them in that order on delivery.
    for (let i = this.compensations.length - 1; i >= 0; i--)
      messages.push({ ...this.compensations[i]!, key: this.key });
    return messages;
  }

  /** Status written to the database: compensation messages are sent in this very transaction. */
  get savedStatus(): SagaStatus {
    return this.compensating ? 'compensated' : this.status;
  }

  private finish(status: SagaStatus, reason: string | null): void {
    this.assertRunning(status === 'compensating' ? 'compensate' : status === 'completed' ? 'complete' : 'fail');
    this.status = status;
    this.reason = reason;
  }

  private assertRunning(call: string): void {
    if (this.finished) {
      throw new SagaStateError(
        `${call}() on saga "${this.name}" instance "${this.correlationId}" which is already ${this.status}`,
      );
    }
  }
}

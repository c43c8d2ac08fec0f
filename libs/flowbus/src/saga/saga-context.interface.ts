import type { EntityManager } from 'typeorm';
import type { EventInstance } from '../bus/event-type.js';
import type { OutboxMessage } from '../outbox/outbox-message.interface.js';

/** Lifecycle status of a saga instance. */
export type SagaStatus = 'running' | 'completed' | 'compensating' | 'compensated' | 'failed';

/** A message recorded by `addCompensation`, sent through the outbox by `compensate`. */
export type CompensationMessage = Pick<OutboxMessage, 'destination' | 'type' | 'payload' | 'headers'>;

/**
 * What a saga step works with. Everything it does (state, messages, timeouts, status) is saved
 * in the step's transaction, together or not at all.
 */
export interface SagaContext<S extends object = Record<string, unknown>> {
  /** The saga's name (`@Saga({ name })`). */
  readonly name: string;
  readonly correlationId: string;
  /** The instance's state; mutate it or assign a new object. Must be JSON-serialisable. */
  state: S;
  /** Status as of now in this step (`running` until complete/fail/compensate is called). */
  readonly status: SagaStatus;
  /** True when this step created the instance. */
  readonly isNew: boolean;
  /** The step's transaction: write your own rows with it to commit them with the saga. */
  readonly manager: EntityManager;
  /** Durable fan-out of an event through the outbox, committed with the step. */
  publish(event: EventInstance): void;
  /** Sends a message to a destination through the outbox, keyed by the instance (FIFO). */
  send(destination: string, type: string, payload: unknown, headers?: Record<string, string>): void;
  /**
   * Schedules `timeout`, an instance of the `@OnTimeout` class (`new PaymentTimeout(...)`, not the
   * class), replacing an earlier one of its type, after `delay` ms or at a time.
   * @throws InvalidEventError at the call for a class or a plain object
   */
  scheduleTimeout(timeout: EventInstance, delay: number | { at: Date }): void;
  /** Cancels the pending timeout of this class, if any. */
  cancelTimeout(timeoutClass: abstract new (...args: never[]) => object): void;
  /** Records a message that undoes what this step did; `compensate` sends them in reverse. */
  addCompensation(message: CompensationMessage): void;
  /** Sends the recorded compensations in reverse order and ends the saga as `compensated`. */
  compensate(reason: string): void;
  /** Ends the saga as `completed`; pending timeouts are dropped. */
  complete(): void;
  /** Ends the saga as `failed` without compensating; pending timeouts are dropped. */
  fail(reason: string): void;
}

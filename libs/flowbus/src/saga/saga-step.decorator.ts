import { SAGA_STEP_METADATA } from '../constants.js';
import type { EventClass } from '../bus/event-type.js';
import { recordDecoratedClass } from '../discovery/decorated-classes.js';
import type { SagaContext } from './saga-context.interface.js';

/** Options of `@SagaStep`. */
export interface SagaStepOptions<E> {
  /** The instance id this event belongs to, e.g. `(e) => e.orderId`. Must return a non-empty string. */
  correlate: (event: E) => string;
  /**
   * The step may create the instance when none exists for the correlation id. On an existing
   * running instance it runs like any other step (events may arrive in any order).
   * @default false
   */
  start?: boolean;
}

/**
 * A method decorator that only fits a saga method `(event: E, ctx: SagaContext<...>)`: the event
 * parameter must accept `E` (`@SagaStep(A)` on a method taking `B` does not compile). The state
 * type of `ctx` is checked against `@Saga`'s `initialState`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any state: @Saga checks it
export type SagaMethodDecorator<E> = <M extends (event: E, ctx: SagaContext<any>) => unknown>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

export interface SagaStepMetadata {
  readonly event: EventClass;
  readonly correlate: (event: never) => string;
  readonly start: boolean;
}

/**
 * Marks a saga method as the step that handles `event`. Runs through the in-process bus
 * (`EventBus.publish`) and the outbox (`OutboxService.publish`, at least once, deduplicated).
 * A method may carry several `@SagaStep`s; one saga has one step per event type.
 *
 * @example
 * @SagaStep(PaymentSucceeded, { correlate: (e) => e.orderId })
 * async paid(e: PaymentSucceeded, ctx: SagaContext<OrderState>) { ctx.state.paid = true; }
 */
export function SagaStep<E extends object>(event: EventClass<E>, options: SagaStepOptions<E>): SagaMethodDecorator<E> {
  return (target, _key, descriptor) => {
    const method = descriptor.value as object;
    const previous: SagaStepMetadata[] = Reflect.getMetadata(SAGA_STEP_METADATA, method) ?? [];
    const entry: SagaStepMetadata = {
      event,
      correlate: options.correlate as (event: never) => string,
      start: options.start ?? false,
    };
    Reflect.defineMetadata(SAGA_STEP_METADATA, [...previous, entry], method);
    recordDecoratedClass(target.constructor, '@SagaStep');
  };
}

import { ON_TIMEOUT_METADATA } from '../constants.js';
import type { EventClass } from '../bus/event-type.js';
import { recordDecoratedClass } from '../discovery/decorated-classes.js';
import type { SagaMethodDecorator } from './saga-step.decorator.js';

/**
 * Marks a saga method as the handler of a timeout scheduled with `ctx.scheduleTimeout(new T(...))`.
 * It runs at most once per scheduling, in a step transaction, and not at all when the instance
 * finished or the timeout was rescheduled or cancelled meanwhile. The method's first parameter
 * must accept `T`.
 *
 * @example
 * @OnTimeout(PaymentTimeout)
 * async paymentTimedOut(t: PaymentTimeout, ctx: SagaContext<OrderState>) { await ctx.compensate('payment timed out'); }
 */
export function OnTimeout<T extends object>(timeout: EventClass<T>): SagaMethodDecorator<T> {
  return (target, _key, descriptor) => {
    Reflect.defineMetadata(ON_TIMEOUT_METADATA, timeout, descriptor.value as object);
    recordDecoratedClass(target.constructor, '@OnTimeout');
  };
}

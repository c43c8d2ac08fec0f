import { SetMetadata } from '@nestjs/common';
import { ON_TIMEOUT_METADATA } from '../constants.js';
import type { EventClass } from '../bus/event-type.js';

/**
 * Marks a saga method as the handler of a timeout scheduled with `ctx.scheduleTimeout(new T(...))`.
 * It runs at most once per scheduling, in a step transaction, and not at all when the instance
 * finished or the timeout was rescheduled or cancelled meanwhile.
 *
 * @example
 * @OnTimeout(PaymentTimeout)
 * async paymentTimedOut(t: PaymentTimeout, ctx: SagaContext<OrderState>) { await ctx.compensate('payment timed out'); }
 */
export function OnTimeout(timeout: EventClass): MethodDecorator {
  return SetMetadata(ON_TIMEOUT_METADATA, timeout);
}

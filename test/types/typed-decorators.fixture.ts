// Type test (checked by typed-decorators.spec.ts, never run): each line after a
// `@ts-expect-error` is a mistake the compiler must catch; everything else must compile.
import { Injectable } from '@nestjs/common';
import { EventBus, HandleEvent, OnTimeout, OutboxService, Saga, SagaStep, type SagaContext } from 'nestjs-flowbus';
import type { EntityManager } from 'typeorm';

class OrderPlaced {
  constructor(readonly orderId: string) {}
}
class PaymentSucceeded {
  constructor(
    readonly paymentId: string,
    readonly amount: number,
  ) {}
}
class PaymentTimeout {
  constructor(readonly orderId: string) {}
}

interface OrderState {
  paid: boolean;
  lines: string[];
}

export async function publishing(bus: EventBus, outbox: OutboxService, manager: EntityManager): Promise<void> {
  await bus.publish(new OrderPlaced('o-1'));
  await outbox.publish(manager, [new OrderPlaced('o-1'), new PaymentSucceeded('p', 1)]);
  // @ts-expect-error the class, not an instance
  await bus.publish(OrderPlaced);
  // @ts-expect-error the class, not an instance
  await outbox.publish(manager, OrderPlaced);
}

@Injectable()
export class Handlers {
  @HandleEvent(OrderPlaced)
  placed(_e: OrderPlaced): void {}

  @HandleEvent(OrderPlaced, { durable: true, name: 'shipping.placed' })
  async durable(_e: OrderPlaced, _manager: EntityManager): Promise<void> {}

  @HandleEvent(OrderPlaced)
  @HandleEvent(PaymentSucceeded)
  either(_e: OrderPlaced | PaymentSucceeded): void {}

  @HandleEvent(OrderPlaced)
  noArgument(): void {}

  // @ts-expect-error the method takes a PaymentSucceeded, the decorator delivers an OrderPlaced
  @HandleEvent(OrderPlaced)
  wrongEvent(_e: PaymentSucceeded): void {}
}

@Saga({ name: 'typed', initialState: () => ({ paid: false, lines: [] }) })
export class TypedSaga {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(_e: OrderPlaced, ctx: SagaContext<OrderState>): void {
    ctx.scheduleTimeout(new PaymentTimeout(ctx.correlationId), 100);
    ctx.publish(new PaymentSucceeded('p', 1));
    // @ts-expect-error the class, not an instance
    ctx.scheduleTimeout(PaymentTimeout, 100);
    // @ts-expect-error the class, not an instance
    ctx.publish(OrderPlaced);
  }

  // @ts-expect-error the step takes an OrderPlaced, the decorator delivers a PaymentSucceeded
  @SagaStep(PaymentSucceeded, { correlate: (e) => e.paymentId })
  paid(_e: OrderPlaced, _ctx: SagaContext<OrderState>): void {}

  // @ts-expect-error correlate reads a field the event does not have
  @SagaStep(PaymentSucceeded, { correlate: (e) => e.orderId })
  paid2(_e: PaymentSucceeded, _ctx: SagaContext<OrderState>): void {}

  @OnTimeout(PaymentTimeout)
  timedOut(_t: PaymentTimeout, _ctx: SagaContext<OrderState>): void {}

  // @ts-expect-error the handler takes a PaymentTimeout, the decorator delivers a PaymentSucceeded
  @OnTimeout(PaymentSucceeded)
  wrongTimeout(_t: PaymentTimeout, _ctx: SagaContext<OrderState>): void {}
}

// @ts-expect-error initialState lacks `lines`, which the steps' SagaContext<OrderState> needs
@Saga({ name: 'missing-field', initialState: () => ({ paid: false }) })
export class MissingField {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(_e: OrderPlaced, _ctx: SagaContext<OrderState>): void {}
}

// @ts-expect-error initialState builds `paid` as a string
@Saga<{ paid: string; lines: string[] }>({ name: 'wrong-type', initialState: () => ({ paid: 'no', lines: [] }) })
export class WrongType {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(_e: OrderPlaced, _ctx: SagaContext<OrderState>): void {}
}

@Saga<OrderState>({ name: 'explicit', initialState: () => ({ paid: false, lines: [] }) })
export class ExplicitState {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(_e: OrderPlaced, _ctx: SagaContext<OrderState>): void {}
}

@Saga<OrderState>({ name: 'untyped-context', initialState: () => ({ paid: false, lines: [] }) })
export class UntypedContext {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(_e: OrderPlaced, _ctx: SagaContext): void {}
}

@Saga({ name: 'no-initial-state' })
export class NoInitialState {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(_e: OrderPlaced, _ctx: SagaContext<OrderState>): void {}
}

import type { OrderLine } from './fulfillment.events.js';

// Commands: what the saga asks a service to do, sent through the outbox with `ctx.send`.
// The class name is the message type; the durable handlers restore the payload into the class.

export class ChargePayment {
  constructor(
    readonly orderId: string,
    readonly customer: string,
    readonly amountCents: number,
  ) {}
}

/** Compensation of a successful charge. */
export class RefundPayment {
  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    readonly reason: string,
  ) {}
}

/**
 * Sent when the saga gave up waiting for the payment service: refunds a charge that lands late,
 * and blocks one that has not happened yet.
 */
export class CancelPayment {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {}
}

export class ReserveInventory {
  constructor(
    readonly orderId: string,
    readonly lines: OrderLine[],
  ) {}
}

/** Compensation of a reservation. */
export class ReleaseInventory {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {}
}

/** POSTed by the relay to the shipping service's webhook (`httpDestination`). */
export class ShipOrder {
  constructor(
    readonly orderId: string,
    readonly customer: string,
    readonly lines: OrderLine[],
  ) {}
}

/** Saga timeout: the payment service has not answered in time. */
export class PaymentTimeout {
  constructor(
    readonly orderId: string,
    readonly afterMs: number,
  ) {}
}

// Events: facts the services announce. Their class name is their type on the wire
// (`eventTypeOf`), so renaming one is a breaking change for rows still in the outbox.

/** One line of an order, priced when the order was placed. */
export interface OrderLine {
  sku: string;
  qty: number;
  unitPriceCents: number;
}

/** Written with the order row, in the same transaction (`POST /orders`). Starts the saga. */
export class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly customer: string,
    readonly lines: OrderLine[],
    readonly totalCents: number,
  ) {}
}

export class PaymentSucceeded {
  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    readonly amountCents: number,
  ) {}
}

/** A business answer: the card was declined. Not an outage (that is the `down` switch). */
export class PaymentFailed {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {}
}

export class InventoryReserved {
  constructor(readonly orderId: string) {}
}

export class InventoryFailed {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {}
}

export class OrderShipped {
  constructor(
    readonly orderId: string,
    readonly trackingNumber: string,
  ) {}
}

export class ShipmentFailed {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {}
}

import { Inject, Logger } from '@nestjs/common';
import { eventTypeOf, OnTimeout, Saga, SagaStep, type EventClass, type SagaContext } from 'nestjs-flowbus';
import { DEMO_OPTIONS, type ResolvedDemoOptions } from '../demo-options.js';
import { Order, type OrderStatus } from '../orders/order.entity.js';
import { money, short } from '../format.js';
import {
  CancelPayment,
  ChargePayment,
  PaymentTimeout,
  RefundPayment,
  ReleaseInventory,
  ReserveInventory,
  ShipOrder,
} from './fulfillment.commands.js';
import {
  InventoryFailed,
  InventoryReserved,
  OrderPlaced,
  OrderShipped,
  PaymentFailed,
  PaymentSucceeded,
  ShipmentFailed,
  type OrderLine,
} from './fulfillment.events.js';

export const ORDER_FULFILLMENT = 'order-fulfillment';

/** The saga's state, stored as jsonb with the instance (see `GET /orders/:id`). */
export interface FulfillmentState {
  orderId: string;
  customer: string;
  lines: OrderLine[];
  totalCents: number;
  stage: 'awaiting-payment' | 'reserving-stock' | 'shipping' | 'shipped' | 'cancelled' | 'failed';
  paymentId?: string;
  trackingNumber?: string;
}

type Ctx = SagaContext<FulfillmentState>;

/** Durable in-process handlers (PaymentService, InventoryService) sit behind this destination. */
const LOCAL = 'local';
/** The shipping webhook (`httpDestination`, see demo-options.ts). */
const SHIPPING = 'shipping';

/**
 * The order-fulfilment process, one instance per order:
 *
 * ```
 * OrderPlaced       → ChargePayment (local), PaymentTimeout due in paymentTimeoutMs
 * PaymentSucceeded  → ReserveInventory (local); records the compensation RefundPayment
 * PaymentFailed     → failed
 * PaymentTimeout    → failed, and CancelPayment (local)
 * InventoryReserved → ShipOrder (HTTP webhook); records the compensation ReleaseInventory
 * InventoryFailed   → compensated: RefundPayment
 * OrderShipped      → completed
 * ShipmentFailed    → compensated: ReleaseInventory, then RefundPayment
 * ```
 *
 * Every step runs in one transaction: the saga's state, the messages it sends, its timeouts and
 * the order row it updates (through `ctx.manager`) commit together or not at all.
 */
@Saga({ name: ORDER_FULFILLMENT })
export class OrderFulfillmentSaga {
  private readonly logger = new Logger('OrderFulfillment');

  constructor(@Inject(DEMO_OPTIONS) private readonly options: ResolvedDemoOptions) {}

  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  async placed(e: OrderPlaced, ctx: Ctx): Promise<void> {
    if (!ctx.isNew) return; // a start step also runs on an existing instance: nothing to redo
    ctx.state = {
      orderId: e.orderId,
      customer: e.customer,
      lines: e.lines,
      totalCents: e.totalCents,
      stage: 'awaiting-payment',
    };
    send(ctx, LOCAL, new ChargePayment(e.orderId, e.customer, e.totalCents));
    const waitMs = this.options.paymentTimeoutMs;
    ctx.scheduleTimeout(new PaymentTimeout(e.orderId, waitMs), waitMs);
    await setOrder(ctx, 'awaiting-payment');
    this.logger.log(`Order ${short(e.orderId)}: placed (${money(e.totalCents)}), charging payment`);
  }

  @SagaStep(PaymentSucceeded, { correlate: (e) => e.orderId })
  async paid(e: PaymentSucceeded, ctx: Ctx): Promise<void> {
    ctx.cancelTimeout(PaymentTimeout);
    ctx.state.stage = 'reserving-stock';
    ctx.state.paymentId = e.paymentId;
    // Recorded now that there is something to undo; `compensate` sends it if a later step fails.
    ctx.addCompensation(command(LOCAL, new RefundPayment(e.orderId, e.paymentId, 'order cancelled')));
    send(ctx, LOCAL, new ReserveInventory(e.orderId, ctx.state.lines));
    await setOrder(ctx, 'paid');
    this.logger.log(`Order ${short(e.orderId)}: paid, reserving stock`);
  }

  @SagaStep(PaymentFailed, { correlate: (e) => e.orderId })
  async paymentFailed(e: PaymentFailed, ctx: Ctx): Promise<void> {
    ctx.state.stage = 'failed';
    const reason = `payment failed: ${e.reason}`;
    ctx.fail(reason); // nothing was charged or reserved: nothing to compensate
    await setOrder(ctx, 'failed', reason);
    this.logger.warn(`Order ${short(e.orderId)}: ${reason}`);
  }

  /**
   * No answer from the payment service in time: the order fails. Not `compensate`: the only
   * compensation (a refund) is recorded when a payment succeeds, so there is nothing to undo.
   * But the charge may still happen — the relay keeps retrying ChargePayment — so CancelPayment
   * follows it on the same key: it refunds a late charge, or voids one that never came.
   */
  @OnTimeout(PaymentTimeout)
  async paymentTimedOut(t: PaymentTimeout, ctx: Ctx): Promise<void> {
    const reason = `payment timed out: no answer from the payment service within ${t.afterMs} ms`;
    send(ctx, LOCAL, new CancelPayment(t.orderId, 'payment timed out'));
    ctx.state.stage = 'failed';
    ctx.fail(reason);
    await setOrder(ctx, 'failed', reason);
    this.logger.warn(`Order ${short(t.orderId)}: ${reason}`);
  }

  @SagaStep(InventoryReserved, { correlate: (e) => e.orderId })
  async reserved(e: InventoryReserved, ctx: Ctx): Promise<void> {
    ctx.state.stage = 'shipping';
    ctx.addCompensation(command(LOCAL, new ReleaseInventory(e.orderId, 'order cancelled')));
    send(ctx, SHIPPING, new ShipOrder(e.orderId, ctx.state.customer, ctx.state.lines));
    await setOrder(ctx, 'stock-reserved');
    this.logger.log(`Order ${short(e.orderId)}: stock reserved, asking the carrier to ship`);
  }

  @SagaStep(InventoryFailed, { correlate: (e) => e.orderId })
  async inventoryFailed(e: InventoryFailed, ctx: Ctx): Promise<void> {
    await this.cancel(ctx, `inventory failed: ${e.reason}`);
  }

  @SagaStep(OrderShipped, { correlate: (e) => e.orderId })
  async shipped(e: OrderShipped, ctx: Ctx): Promise<void> {
    ctx.state.stage = 'shipped';
    ctx.state.trackingNumber = e.trackingNumber;
    ctx.complete();
    await setOrder(ctx, 'shipped');
    this.logger.log(`Order ${short(e.orderId)}: shipped (${e.trackingNumber}), saga completed`);
  }

  @SagaStep(ShipmentFailed, { correlate: (e) => e.orderId })
  async shipmentFailed(e: ShipmentFailed, ctx: Ctx): Promise<void> {
    await this.cancel(ctx, `shipping failed: ${e.reason}`);
  }

  /** Undoes what was done, newest first: release the stock (if reserved), then refund. */
  private async cancel(ctx: Ctx, reason: string): Promise<void> {
    ctx.state.stage = 'cancelled';
    ctx.compensate(reason);
    await setOrder(ctx, 'cancelled', reason);
    this.logger.warn(`Order ${short(ctx.correlationId)}: ${reason}; compensating`);
  }
}

/** A message for `destination` whose type is the command's class name (what handlers subscribe to). */
function command(destination: string, cmd: object) {
  return { destination, type: eventTypeOf(cmd.constructor as EventClass), payload: cmd };
}

/** Sends a command through the outbox with the step, keyed by the instance (per-key FIFO). */
function send(ctx: Ctx, destination: string, cmd: object): void {
  const m = command(destination, cmd);
  ctx.send(m.destination, m.type, m.payload);
}

/** The order row follows the saga, in the step's transaction. */
async function setOrder(ctx: Ctx, status: OrderStatus, reason: string | null = null): Promise<void> {
  await ctx.manager.update(Order, { id: ctx.correlationId }, { status, reason });
}

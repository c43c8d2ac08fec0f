import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { OutboxService, SagaService } from 'nestjs-flowbus';
import { randomUUID } from 'node:crypto';
import { In, type DataSource } from 'typeorm';
import { OrderPlaced, type OrderLine } from '../fulfillment/fulfillment.events.js';
import { ORDER_FULFILLMENT, type FulfillmentState } from '../fulfillment/order-fulfillment.saga.js';
import { Reservation } from '../inventory/reservation.entity.js';
import { StockItem } from '../inventory/stock-item.entity.js';
import { money, short } from '../format.js';
import { Payment } from '../payment/payment.entity.js';
import { Shipment } from '../shipping/shipment.entity.js';
import type { CreateOrderDto } from './dto/create-order.dto.js';
import type { OrderCreatedDto, OrderDetailDto } from './dto/order.dto.js';
import { Order } from './order.entity.js';

@Injectable()
export class OrdersService {
  private readonly logger = new Logger('OrdersService');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly sagas: SagaService,
  ) {}

  /**
   * The point of the outbox: the order row and the OrderPlaced event are written in ONE
   * transaction. Both commit or neither does, so there is never an order nobody fulfils, nor an
   * event about an order that does not exist. The relay delivers the event after the commit.
   */
  async place(dto: CreateOrderDto): Promise<OrderCreatedDto> {
    return this.dataSource.transaction(async (manager) => {
      const skus = [...new Set(dto.items.map((i) => i.sku))];
      const stock = new Map((await manager.findBy(StockItem, { sku: In(skus) })).map((s) => [s.sku, s]));
      const unknown = dto.items.findIndex((i) => !stock.has(i.sku));
      if (unknown >= 0) {
        const known = [...(await manager.find(StockItem, { order: { sku: 'ASC' } }))].map((s) => s.sku);
        throw new BadRequestException([
          `items.${unknown}.sku must be one of the catalogue's SKUs: ${known.join(', ')}`,
        ]);
      }
      const lines = mergeLines(dto.items, stock);
      const order = manager.create(Order, {
        id: randomUUID(),
        customer: dto.customer,
        lines,
        totalCents: lines.reduce((sum, l) => sum + l.qty * l.unitPriceCents, 0),
        status: 'placed',
        reason: null,
      });
      await manager.insert(Order, order);
      await this.outbox.publish(manager, new OrderPlaced(order.id, order.customer, lines, order.totalCents));
      this.logger.log(`Order ${short(order.id)} placed by ${order.customer}: ${money(order.totalCents)}`);
      return { id: order.id, status: order.status, totalCents: order.totalCents, href: `/orders/${order.id}` };
    });
  }

  /** The order with its saga instance (status, state, pending timeouts) and what each service did. */
  async find(id: string): Promise<OrderDetailDto> {
    // The saga first: the order row changes in the saga's step transactions, so read after it,
    // it is never older than the saga shown next to it.
    const saga = await this.sagas.find<FulfillmentState>(ORDER_FULFILLMENT, id);
    const m = this.dataSource.manager;
    const order = await m.findOneBy(Order, { id });
    if (!order) throw new NotFoundException(`Order ${id} not found`);
    const [payment, reservations, shipment] = await Promise.all([
      m.findOneBy(Payment, { orderId: id }),
      m.find(Reservation, { where: { orderId: id }, order: { sku: 'ASC' } }),
      m.findOneBy(Shipment, { orderId: id }),
    ]);
    return {
      ...order,
      saga: saga
        ? {
            status: saga.status,
            reason: saga.reason,
            state: saga.state,
            version: saga.version,
            timeouts: saga.timeouts.map((t) => ({ type: t.type, dueAt: t.dueAt })),
            updatedAt: saga.updatedAt,
            finishedAt: saga.finishedAt,
          }
        : null,
      payment: payment && {
        status: payment.status,
        amountCents: payment.amountCents,
        paymentId: payment.paymentId,
        note: payment.note,
      },
      reservations: reservations.map((r) => ({ sku: r.sku, qty: r.qty, status: r.status })),
      shipment: shipment && {
        status: shipment.status,
        trackingNumber: shipment.trackingNumber,
        reason: shipment.reason,
        requests: shipment.requests,
      },
    };
  }

  recent(limit = 20): Promise<Order[]> {
    return this.dataSource.manager.find(Order, { order: { createdAt: 'DESC' }, take: limit });
  }
}

/** One line per SKU (quantities added up), priced from the catalogue now. */
function mergeLines(items: CreateOrderDto['items'], stock: Map<string, StockItem>): OrderLine[] {
  const lines = new Map<string, OrderLine>();
  for (const { sku, qty } of items) {
    const line = lines.get(sku);
    if (line) line.qty += qty;
    else lines.set(sku, { sku, qty, unitPriceCents: stock.get(sku)!.priceCents });
  }
  return [...lines.values()];
}

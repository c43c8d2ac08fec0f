import { Injectable, Logger } from '@nestjs/common';
import { HandleEvent, OutboxService } from 'nestjs-flowbus';
import { In, type EntityManager } from 'typeorm';
import { ReleaseInventory, ReserveInventory } from '../fulfillment/fulfillment.commands.js';
import { InventoryFailed, InventoryReserved } from '../fulfillment/fulfillment.events.js';
import { short } from '../format.js';
import { Switchboard } from '../simulation/switchboard.js';
import { Reservation } from './reservation.entity.js';
import { StockItem } from './stock-item.entity.js';

/**
 * The simulated warehouse, reached through the outbox (`local` destination). Reservations and
 * releases of one order go through one durable subscriber, so they are handled in order.
 */
@Injectable()
export class InventoryService {
  private readonly logger = new Logger('InventoryService');

  constructor(
    private readonly outbox: OutboxService,
    private readonly switchboard: Switchboard,
  ) {}

  @HandleEvent(ReserveInventory, { durable: true })
  @HandleEvent(ReleaseInventory, { durable: true })
  async handle(command: ReserveInventory | ReleaseInventory, manager: EntityManager): Promise<void> {
    const outcome = await this.switchboard.call('inventory');
    if (command instanceof ReserveInventory) await this.reserve(command, outcome, manager);
    else await this.release(command, manager);
  }

  private async reserve(c: ReserveInventory, outcome: 'ok' | 'fail', manager: EntityManager): Promise<void> {
    if (outcome === 'fail') {
      const reason = 'warehouse refused the reservation (simulated)';
      await this.outbox.publish(manager, new InventoryFailed(c.orderId, reason));
      this.logger.warn(`Order ${short(c.orderId)}: ${reason}`);
      return;
    }
    const skus = c.lines.map((l) => l.sku).sort();
    // Row locks in SKU order: two orders for the same SKUs queue up instead of deadlocking.
    const stock = await manager.getRepository(StockItem).find({
      where: { sku: In(skus) },
      order: { sku: 'ASC' },
      lock: { mode: 'pessimistic_write' },
    });
    const bySku = new Map(stock.map((s) => [s.sku, s]));
    const missing = c.lines.filter((l) => (bySku.get(l.sku)?.available ?? 0) < l.qty);
    if (missing.length > 0) {
      const reason = `out of stock: ${missing
        .map((l) => `${l.sku} (wanted ${l.qty}, ${bySku.get(l.sku)?.available ?? 0} available)`)
        .join(', ')}`;
      await this.outbox.publish(manager, new InventoryFailed(c.orderId, reason));
      this.logger.warn(`Order ${short(c.orderId)}: ${reason}`);
      return;
    }
    for (const line of c.lines) {
      await manager.decrement(StockItem, { sku: line.sku }, 'available', line.qty);
      await manager.insert(Reservation, { orderId: c.orderId, sku: line.sku, qty: line.qty, status: 'reserved' });
    }
    await this.outbox.publish(manager, new InventoryReserved(c.orderId));
    this.logger.log(`Order ${short(c.orderId)}: reserved ${c.lines.map((l) => `${l.qty}× ${l.sku}`).join(', ')}`);
  }

  private async release(c: ReleaseInventory, manager: EntityManager): Promise<void> {
    const held = await manager.findBy(Reservation, { orderId: c.orderId, status: 'reserved' });
    for (const r of held) {
      await manager.increment(StockItem, { sku: r.sku }, 'available', r.qty);
      await manager.update(Reservation, { orderId: r.orderId, sku: r.sku }, { status: 'released' });
    }
    if (held.length > 0) this.logger.log(`Order ${short(c.orderId)}: stock released (${c.reason})`);
  }
}

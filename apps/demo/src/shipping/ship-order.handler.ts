import { Injectable } from '@nestjs/common';
import { HandleEvent } from 'nestjs-flowbus';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { ShipOrder } from '../fulfillment/fulfillment.commands.js';
import { ShippingService } from './shipping.service.js';

/** The shipping service as a process of its own: ShipOrder arrives from the broker (a source). */
@Injectable()
export class ShipOrderHandler {
  constructor(private readonly shipping: ShippingService) {}

  @HandleEvent(ShipOrder, { durable: true, name: 'shipping.ship-order' })
  async ship(command: ShipOrder, manager: EntityManager): Promise<void> {
    // A durable handler does not see the message id; the inbox already makes this run once.
    await this.shipping.shipWith(manager, randomUUID(), command);
  }
}

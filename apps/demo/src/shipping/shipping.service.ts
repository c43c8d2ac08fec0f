import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { OutboxService } from 'nestjs-flowbus';
import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { OrderShipped, ShipmentFailed } from '../fulfillment/fulfillment.events.js';
import { short } from '../format.js';
import { Switchboard } from '../simulation/switchboard.js';
import type { ShipOrderPayloadDto, ShippingAnswerDto } from './dto/shipping-webhook.dto.js';

/**
 * The simulated carrier behind the shipping webhook. The relay delivers at least once (a retry
 * after a timeout may repeat a request that did get through), so it ships an order at most once
 * and answers a repeat with what it did the first time.
 */
@Injectable()
export class ShippingService {
  private readonly logger = new Logger('ShippingService');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly switchboard: Switchboard,
  ) {}

  /**
   * @param headers the received message's headers: the reply joins its conversation
   *   (`correlation-id`) and names it as its cause (`causation-id`)
   */
  async ship(
    messageId: string,
    order: ShipOrderPayloadDto,
    headers?: Record<string, string>,
  ): Promise<ShippingAnswerDto> {
    const outcome = await this.carrier(); // `down`: SimulatedOutageError → 503
    const reply: Record<string, string> = { 'causation-id': messageId };
    if (headers?.['correlation-id']) reply['correlation-id'] = headers['correlation-id'];
    return this.dataSource.transaction((manager) => this.record(manager, messageId, order, outcome, reply));
  }

  /**
   * As `ship`, in the transaction of a durable handler (the shipping service as a process of its
   * own, fed by a broker source): the inbox already makes the delivery run once.
   */
  async shipWith(manager: EntityManager, messageId: string, order: ShipOrderPayloadDto): Promise<ShippingAnswerDto> {
    return this.record(manager, messageId, order, await this.carrier());
  }

  /** What the simulated carrier says: a refusal reason or a tracking number. */
  private async carrier(): Promise<{ reason: string | null; tracking: string | null }> {
    const outcome = await this.switchboard.call('shipping');
    return {
      reason: outcome === 'fail' ? 'carrier refused the parcel (simulated)' : null,
      tracking: outcome === 'ok' ? `FBX-${randomBytes(4).toString('hex').toUpperCase()}` : null,
    };
  }

  private async record(
    manager: EntityManager,
    messageId: string,
    order: ShipOrderPayloadDto,
    { reason, tracking }: { reason: string | null; tracking: string | null },
    /** Headers of the reply; in a durable handler Flowbus sets them itself. */
    headers?: Record<string, string>,
  ): Promise<ShippingAnswerDto> {
    // One shipment per order. `xmax = 0` holds only for a row this statement inserted; a
    // repeat takes the ON CONFLICT branch and just counts the request.
    const [row] = (await manager.query(
      `INSERT INTO shipments (order_id, status, tracking_number, reason, message_id)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (order_id) DO UPDATE SET requests = shipments.requests + 1
       RETURNING (xmax = 0) AS created, status, tracking_number`,
      [order.orderId, reason ? 'rejected' : 'shipped', tracking, reason, messageId],
    )) as { created: boolean; status: 'shipped' | 'rejected'; tracking_number: string | null }[];
    const answer = { status: row!.status, trackingNumber: row!.tracking_number, duplicate: !row!.created };
    if (answer.duplicate) {
      this.logger.log(`Order ${short(order.orderId)}: repeated ShipOrder (message ${short(messageId)}), ignored`);
      return answer;
    }
    // The reply goes out through the outbox, committed with the shipment row.
    if (reason) {
      await this.outbox.publish(manager, new ShipmentFailed(order.orderId, reason), { headers });
      this.logger.warn(`Order ${short(order.orderId)}: ${reason}`);
    } else {
      await this.outbox.publish(manager, new OrderShipped(order.orderId, tracking!), { headers });
      this.logger.log(`Order ${short(order.orderId)}: shipped to ${order.customer}, tracking ${tracking}`);
    }
    return answer;
  }
}

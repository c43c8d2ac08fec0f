import { Injectable, Logger } from '@nestjs/common';
import { HandleEvent, OutboxService } from 'nestjs-flowbus';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { CancelPayment, ChargePayment, RefundPayment } from '../fulfillment/fulfillment.commands.js';
import { PaymentFailed, PaymentSucceeded } from '../fulfillment/fulfillment.events.js';
import { Switchboard } from '../simulation/switchboard.js';
import { money, short } from '../format.js';
import { Payment } from './payment.entity.js';

type PaymentCommand = ChargePayment | RefundPayment | CancelPayment;

/**
 * The simulated payment provider, reached through the outbox (`local` destination). Each command
 * runs in a transaction with Flowbus's inbox row: a redelivered command is not run twice, and the
 * answer, published through the outbox with the same manager, commits with the ledger row.
 */
@Injectable()
export class PaymentService {
  private readonly logger = new Logger('PaymentService');

  constructor(
    private readonly outbox: OutboxService,
    private readonly switchboard: Switchboard,
  ) {}

  /**
   * One durable subscriber for all payment commands, on purpose: rows of one subscriber and key
   * are delivered in order (per-key FIFO, the saga keys its messages by order). So a
   * CancelPayment sent while a ChargePayment is still being retried is handled after it.
   */
  @HandleEvent(ChargePayment, { durable: true })
  @HandleEvent(RefundPayment, { durable: true })
  @HandleEvent(CancelPayment, { durable: true })
  async handle(command: PaymentCommand, manager: EntityManager): Promise<void> {
    // `down` throws here: the relay records the error and retries with backoff.
    const outcome = await this.switchboard.call('payment');
    if (command instanceof ChargePayment) await this.charge(command, outcome, manager);
    else if (command instanceof RefundPayment) await this.refund(command, manager);
    else await this.cancel(command, manager);
  }

  private async charge(c: ChargePayment, outcome: 'ok' | 'fail', manager: EntityManager): Promise<void> {
    const payments = manager.getRepository(Payment);
    const existing = await payments.findOneBy({ orderId: c.orderId });
    if (existing?.status === 'voided') {
      this.logger.warn(`Order ${short(c.orderId)}: charge refused, the payment was cancelled (${existing.note})`);
      return;
    }
    if (existing) return; // charged or declined already: nothing new to say
    if (outcome === 'fail') {
      const reason = 'card declined (simulated)';
      await payments.insert({ orderId: c.orderId, amountCents: c.amountCents, status: 'declined', note: reason });
      await this.outbox.publish(manager, new PaymentFailed(c.orderId, reason));
      this.logger.warn(`Order ${short(c.orderId)}: ${reason}`);
      return;
    }
    const paymentId = randomUUID();
    await payments.insert({ orderId: c.orderId, paymentId, amountCents: c.amountCents, status: 'charged' });
    await this.outbox.publish(manager, new PaymentSucceeded(c.orderId, paymentId, c.amountCents));
    this.logger.log(`Order ${short(c.orderId)}: charged ${money(c.amountCents)} to ${c.customer}`);
  }

  private async refund(c: RefundPayment, manager: EntityManager): Promise<void> {
    const payments = manager.getRepository(Payment);
    const payment = await payments.findOneBy({ orderId: c.orderId });
    if (payment?.status !== 'charged') return;
    await payments.update({ orderId: c.orderId }, { status: 'refunded', note: c.reason });
    this.logger.log(`Order ${short(c.orderId)}: refunded ${money(payment.amountCents)} (${c.reason})`);
  }

  private async cancel(c: CancelPayment, manager: EntityManager): Promise<void> {
    const payments = manager.getRepository(Payment);
    const payment = await payments.findOneBy({ orderId: c.orderId });
    if (!payment) {
      // Nothing charged yet: leave a tombstone so a charge that arrives later is refused.
      await payments.insert({ orderId: c.orderId, amountCents: 0, status: 'voided', note: c.reason });
      this.logger.log(`Order ${short(c.orderId)}: payment voided before any charge (${c.reason})`);
    } else if (payment.status === 'charged') {
      await payments.update({ orderId: c.orderId }, { status: 'refunded', note: `late charge refunded: ${c.reason}` });
      this.logger.warn(`Order ${short(c.orderId)}: the charge landed after the saga gave up; refunded`);
    }
  }
}

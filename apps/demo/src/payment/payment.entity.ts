import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * `charged` → `refunded` (compensation, or a charge that landed after the saga gave up);
 * `declined` (the `fail` switch); `voided` (cancelled before any charge: a later charge is refused).
 */
export type PaymentStatus = 'charged' | 'declined' | 'refunded' | 'voided';

/** The simulated payment provider's ledger: one payment per order. */
@Entity('payments')
export class Payment {
  @PrimaryColumn('uuid', { name: 'order_id' })
  orderId!: string;

  @Column('uuid', { name: 'payment_id', nullable: true })
  paymentId!: string | null;

  @Column('integer', { name: 'amount_cents' })
  amountCents!: number;

  @Column('text')
  status!: PaymentStatus;

  @Column('text', { nullable: true })
  note!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** The simulated carrier's record of an order: `shipped`, or `rejected` by the `fail` switch. */
@Entity('shipments')
export class Shipment {
  @PrimaryColumn('uuid', { name: 'order_id' })
  orderId!: string;

  @Column('text')
  status!: 'shipped' | 'rejected';

  @Column('text', { name: 'tracking_number', nullable: true })
  trackingNumber!: string | null;

  @Column('text', { nullable: true })
  reason!: string | null;

  /** Flowbus message id of the delivery that created it (the `Idempotency-Key` header). */
  @Column('uuid', { name: 'message_id' })
  messageId!: string;

  /** Deliveries of the ShipOrder webhook that reached the carrier (retries and duplicates included). */
  @Column('integer', { default: 1 })
  requests!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

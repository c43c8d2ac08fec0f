import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Units of one SKU held for one order; `released` when the saga compensates. */
@Entity('reservations')
export class Reservation {
  @PrimaryColumn('uuid', { name: 'order_id' })
  orderId!: string;

  @PrimaryColumn('text')
  sku!: string;

  @Column('integer')
  qty!: number;

  @Column('text')
  status!: 'reserved' | 'released';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { OrderLine } from '../fulfillment/fulfillment.events.js';

/** Where an order stands; the saga moves it along in its step transactions. */
export const ORDER_STATUSES = [
  'placed',
  'awaiting-payment',
  'paid',
  'stock-reserved',
  'shipped',
  'cancelled',
  'failed',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

@Entity('orders')
export class Order {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  customer!: string;

  @Column('jsonb')
  lines!: OrderLine[];

  @Column('integer', { name: 'total_cents' })
  totalCents!: number;

  @Column('text')
  status!: OrderStatus;

  /** Why the order was cancelled or failed. */
  @Column('text', { nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

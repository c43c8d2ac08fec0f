import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('stock_items')
export class StockItem {
  @PrimaryColumn('text')
  sku!: string;

  @Column('text')
  name!: string;

  @Column('integer', { name: 'price_cents' })
  priceCents!: number;

  /** Units not reserved by any order. */
  @Column('integer')
  available!: number;
}

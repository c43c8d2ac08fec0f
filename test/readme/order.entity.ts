// Stands in for the reader's own entity in the README's examples (see readme-snippets.e2e-spec.ts).
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('orders')
export class Order {
  @PrimaryColumn()
  id!: string;

  @Column('int')
  total!: number;
}

// Stands in for the reader's own entity in the README's examples (see readme-snippets.e2e-spec.ts).
import { Entity, PrimaryColumn } from 'typeorm';

@Entity('shipments')
export class Shipment {
  @PrimaryColumn()
  orderId!: string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ORDER_STATUSES, type OrderStatus } from '../order.entity.js';

export class OrderLineDto {
  @ApiProperty({ example: 'KEYBOARD-MX' })
  sku!: string;

  @ApiProperty({ example: 1 })
  qty!: number;

  @ApiProperty({ example: 8900 })
  unitPriceCents!: number;
}

export class OrderCreatedDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: ORDER_STATUSES, example: 'placed' })
  status!: OrderStatus;

  @ApiProperty({ example: 8900 })
  totalCents!: number;

  @ApiProperty({ example: '/orders/0b1c…', description: 'Where to follow the order' })
  href!: string;
}

export class OrderDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  customer!: string;

  @ApiProperty({ type: [OrderLineDto] })
  lines!: OrderLineDto[];

  @ApiProperty()
  totalCents!: number;

  @ApiProperty({ enum: ORDER_STATUSES })
  status!: OrderStatus;

  @ApiProperty({ type: String, nullable: true, description: 'Why it was cancelled or failed' })
  reason!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: Date;
}

export class SagaTimeoutDto {
  @ApiProperty({ example: 'PaymentTimeout' })
  type!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  dueAt!: Date;
}

export class SagaViewDto {
  @ApiProperty({ enum: ['running', 'completed', 'compensating', 'compensated', 'failed'] })
  status!: string;

  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;

  @ApiProperty({ description: 'The saga state (stage, payment id, tracking number…)' })
  state!: object;

  @ApiProperty({ description: 'Steps applied (optimistic concurrency version)' })
  version!: number;

  @ApiProperty({ type: [SagaTimeoutDto], description: 'Pending timeouts' })
  timeouts!: SagaTimeoutDto[];

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: Date;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt!: Date | null;
}

export class PaymentViewDto {
  @ApiProperty({ enum: ['charged', 'declined', 'refunded', 'voided'] })
  status!: string;

  @ApiProperty()
  amountCents!: number;

  @ApiProperty({ type: String, nullable: true })
  paymentId!: string | null;

  @ApiProperty({ type: String, nullable: true })
  note!: string | null;
}

export class ReservationViewDto {
  @ApiProperty()
  sku!: string;

  @ApiProperty()
  qty!: number;

  @ApiProperty({ enum: ['reserved', 'released'] })
  status!: string;
}

export class ShipmentViewDto {
  @ApiProperty({ enum: ['shipped', 'rejected'] })
  status!: string;

  @ApiProperty({ type: String, nullable: true })
  trackingNumber!: string | null;

  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;

  @ApiProperty({ description: 'Webhook requests that reached the carrier, repeats included' })
  requests!: number;
}

export class OrderDetailDto extends OrderDto {
  @ApiPropertyOptional({ type: SagaViewDto, nullable: true, description: 'null until the saga has started' })
  saga!: SagaViewDto | null;

  @ApiPropertyOptional({ type: PaymentViewDto, nullable: true })
  payment!: PaymentViewDto | null;

  @ApiProperty({ type: [ReservationViewDto] })
  reservations!: ReservationViewDto[];

  @ApiPropertyOptional({ type: ShipmentViewDto, nullable: true })
  shipment!: ShipmentViewDto | null;
}

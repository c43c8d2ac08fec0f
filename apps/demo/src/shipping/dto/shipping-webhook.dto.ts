import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsString, IsUUID, ValidateNested } from 'class-validator';
import type { OrderLine } from '../../fulfillment/fulfillment.events.js';

export class ShipOrderPayloadDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  orderId!: string;

  @ApiProperty()
  @IsString()
  customer!: string;

  @ApiProperty({ description: 'Order lines: `{ sku, qty, unitPriceCents }`' })
  @IsArray()
  lines!: OrderLine[];
}

/** The JSON body `httpDestination` POSTs: Flowbus's envelope around the ShipOrder command. */
export class ShippingWebhookDto {
  @ApiProperty({ format: 'uuid', description: 'Flowbus message id (also sent as `Idempotency-Key`)' })
  @IsUUID()
  id!: string;

  @ApiProperty({ enum: ['ShipOrder'] })
  @IsIn(['ShipOrder'])
  type!: 'ShipOrder';

  @ApiProperty({ type: ShipOrderPayloadDto })
  @ValidateNested()
  @Type(() => ShipOrderPayloadDto)
  payload!: ShipOrderPayloadDto;
}

export class ShippingAnswerDto {
  @ApiProperty({ enum: ['shipped', 'rejected'] })
  status!: 'shipped' | 'rejected';

  @ApiProperty({ type: String, nullable: true })
  trackingNumber!: string | null;

  @ApiProperty({ description: 'True when this order was already handled (a redelivery): nothing was done again' })
  duplicate!: boolean;
}

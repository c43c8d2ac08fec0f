import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsObject, IsOptional, IsString, IsUUID, ValidateNested } from 'class-validator';
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

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Message headers, `correlation-id` among them',
  })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;
}

export class ShippingAnswerDto {
  @ApiProperty({ enum: ['shipped', 'rejected'] })
  status!: 'shipped' | 'rejected';

  @ApiProperty({ type: String, nullable: true })
  trackingNumber!: string | null;

  @ApiProperty({ description: 'True when this order was already handled (a redelivery): nothing was done again' })
  duplicate!: boolean;
}

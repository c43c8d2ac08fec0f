import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { StockItem } from './stock-item.entity.js';

class StockItemDto {
  @ApiProperty({ example: 'KEYBOARD-MX' })
  sku!: string;

  @ApiProperty({ example: 'Mechanical keyboard' })
  name!: string;

  @ApiProperty({ example: 8900 })
  priceCents!: number;

  @ApiProperty({ description: 'Units not reserved by an order', example: 50 })
  available!: number;
}

@ApiTags('orders')
@Controller('stock')
export class StockController {
  constructor(@InjectRepository(StockItem) private readonly stock: Repository<StockItem>) {}

  @Get()
  @ApiOperation({ summary: 'The catalogue with the units still available' })
  @ApiOkResponse({ type: [StockItemDto] })
  list(): Promise<StockItem[]> {
    return this.stock.find({ order: { sku: 'ASC' } });
  }
}

import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, UsePipes, ValidationPipe } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CreateOrderDto } from './dto/create-order.dto.js';
import { ListOrdersQuery } from './dto/list-orders.query.js';
import { OrderCreatedDto, OrderDetailDto, OrderDto } from './dto/order.dto.js';
import type { Order } from './order.entity.js';
import { OrdersService } from './orders.service.js';

@ApiTags('orders')
@Controller('orders')
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({
    summary: 'Place an order',
    description:
      'Writes the order and the OrderPlaced event in one transaction (the transactional outbox); the saga takes it from there. Follow it with `GET /orders/{id}`.',
  })
  @ApiCreatedResponse({ type: OrderCreatedDto })
  @ApiBadRequestResponse({ description: 'Invalid body; the message names the field (e.g. `items.0.qty`)' })
  place(@Body() body: CreateOrderDto): Promise<OrderCreatedDto> {
    return this.orders.place(body);
  }

  @Get()
  @ApiOperation({ summary: 'Recent orders, newest first' })
  @ApiOkResponse({ type: [OrderDto] })
  recent(@Query() query: ListOrdersQuery): Promise<Order[]> {
    return this.orders.recent(query.limit);
  }

  @Get(':id')
  @ApiOperation({ summary: 'An order with its saga (status, state, pending timeouts), payment, stock and shipment' })
  @ApiOkResponse({ type: OrderDetailDto })
  @ApiNotFoundResponse({ description: 'No such order' })
  find(@Param('id', new ParseUUIDPipe()) id: string): Promise<OrderDetailDto> {
    return this.orders.find(id);
  }
}

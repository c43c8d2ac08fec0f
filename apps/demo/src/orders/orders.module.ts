import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Reservation } from '../inventory/reservation.entity.js';
import { StockItem } from '../inventory/stock-item.entity.js';
import { Payment } from '../payment/payment.entity.js';
import { Shipment } from '../shipping/shipment.entity.js';
import { Order } from './order.entity.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

/** The shop's API: place orders, follow them. Reads the services' tables for `GET /orders/:id`. */
@Module({
  imports: [TypeOrmModule.forFeature([Order, StockItem, Payment, Reservation, Shipment])],
  controllers: [OrdersController],
  providers: [OrdersService],
})
export class OrdersModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SimulationModule } from '../simulation/simulation.module.js';
import { InventoryService } from './inventory.service.js';
import { Reservation } from './reservation.entity.js';
import { StockController } from './stock.controller.js';
import { StockItem } from './stock-item.entity.js';
import { StockSeeder } from './stock.seeder.js';

/** The simulated warehouse (durable handlers behind the `local` destination) and its catalogue. */
@Module({
  imports: [TypeOrmModule.forFeature([StockItem, Reservation]), SimulationModule],
  controllers: [StockController],
  providers: [InventoryService, StockSeeder],
})
export class InventoryModule {}

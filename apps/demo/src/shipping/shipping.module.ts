import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SimulationModule } from '../simulation/simulation.module.js';
import { Shipment } from './shipment.entity.js';
import { ShippingController } from './shipping.controller.js';
import { ShippingService } from './shipping.service.js';

/** The simulated carrier, reached over HTTP (the relay's `shipping` destination). */
@Module({
  imports: [TypeOrmModule.forFeature([Shipment]), SimulationModule],
  controllers: [ShippingController],
  providers: [ShippingService],
})
export class ShippingModule {}

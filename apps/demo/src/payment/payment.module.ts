import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SimulationModule } from '../simulation/simulation.module.js';
import { Payment } from './payment.entity.js';
import { PaymentService } from './payment.service.js';

/** The simulated payment provider (durable handlers behind the `local` destination). */
@Module({
  imports: [TypeOrmModule.forFeature([Payment]), SimulationModule],
  providers: [PaymentService],
})
export class PaymentModule {}

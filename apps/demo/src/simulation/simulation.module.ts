import { Module } from '@nestjs/common';
import { SimulationController } from './simulation.controller.js';
import { Switchboard } from './switchboard.js';

/** The switches that make the simulated services succeed, fail, lag or go down. */
@Module({
  controllers: [SimulationController],
  providers: [Switchboard],
  exports: [Switchboard],
})
export class SimulationModule {}

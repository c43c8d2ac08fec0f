import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FlowbusModule } from 'nestjs-flowbus';
import type { DemoBroker } from '../broker/demo-broker.js';
import { demoTypeOrm } from '../database/demo-typeorm.js';
import { DEMO_OPTIONS, resolveDemoOptions } from '../demo-options.js';
import { OrderShipped, ShipmentFailed } from '../fulfillment/fulfillment.events.js';
import { SimulationModule } from '../simulation/simulation.module.js';
import { ShipOrderHandler } from './ship-order.handler.js';
import { Shipment } from './shipment.entity.js';
import { ShippingService } from './shipping.service.js';

@Module({})
class ShippingOptionsModule {}

/**
 * The shipping service as a second process (`shipping-main.ts`), with a database of its own:
 * receives ShipOrder from the broker into a durable handler and answers OrderShipped or
 * ShipmentFailed through its outbox to the broker. `POST /simulate/shipping` on its port flips
 * its switch.
 */
@Module({})
export class ShippingServiceModule {
  static forRoot(options: { databaseUrl: string; broker: DemoBroker }): DynamicModule {
    return {
      module: ShippingServiceModule,
      imports: [
        {
          module: ShippingOptionsModule,
          global: true,
          providers: [
            { provide: DEMO_OPTIONS, useValue: resolveDemoOptions({ databaseUrl: '', selfUrl: '', adminToken: '' }) },
          ],
          exports: [DEMO_OPTIONS],
        },
        demoTypeOrm(options.databaseUrl),
        TypeOrmModule.forFeature([Shipment]),
        FlowbusModule.forRoot({
          relay: { pollIntervalMs: 500 },
          sources: { shop: options.broker.source('shipping', ['ShipOrder']) },
          destinations: { shop: options.broker.destination('shop') },
          routes: [
            { event: OrderShipped, destination: 'shop' },
            { event: ShipmentFailed, destination: 'shop' },
          ],
        }),
        SimulationModule,
      ],
      providers: [ShippingService, ShipOrderHandler],
    };
  }
}

import { Module, type DynamicModule } from '@nestjs/common';
import { FlowbusModule } from 'nestjs-flowbus';
import { FlowbusAdminModule } from 'nestjs-flowbus/admin';
import { demoTypeOrm } from './database/demo-typeorm.js';
import { DEMO_OPTIONS, flowbusOptions, resolveDemoOptions, type DemoOptions } from './demo-options.js';
import { FulfillmentModule } from './fulfillment/fulfillment.module.js';
import { InventoryModule } from './inventory/inventory.module.js';
import { LandingController } from './landing/landing.controller.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { PaymentModule } from './payment/payment.module.js';
import { ShippingModule } from './shipping/shipping.module.js';
import { SimulationModule } from './simulation/simulation.module.js';

@Module({})
class DemoOptionsModule {}

/**
 * The order-fulfilment demo. `main.ts` boots it on the embedded PostgreSQL (or `DATABASE_URL`);
 * tests boot it on a database of their own, with short timeouts.
 *
 * @example
 * Test.createTestingModule({ imports: [AppModule.forRoot({ databaseUrl, selfUrl, adminToken })] })
 */
@Module({})
export class AppModule {
  static forRoot(options: DemoOptions): DynamicModule {
    const resolved = resolveDemoOptions(options);
    return {
      module: AppModule,
      imports: [
        {
          module: DemoOptionsModule,
          global: true,
          providers: [{ provide: DEMO_OPTIONS, useValue: resolved }],
          exports: [DEMO_OPTIONS],
        },
        // The demo's own tables; Flowbus's come from Flowbus's migrations, run by FlowbusModule.
        demoTypeOrm(options.databaseUrl),
        // No `dataSource`: Flowbus uses the one TypeOrmModule provides, so `outbox.publish(manager, …)`
        // joins the transactions of the demo's own code.
        FlowbusModule.forRoot(flowbusOptions(options, resolved)),
        // The admin API and dashboard at /flowbus, behind the bearer token printed at start-up.
        FlowbusAdminModule.forRoot({ token: options.adminToken }),
        SimulationModule,
        FulfillmentModule,
        OrdersModule,
        PaymentModule,
        InventoryModule,
        ShippingModule,
        ObservabilityModule,
      ],
      controllers: [LandingController],
    };
  }
}

// Service B of the two-services test, run as a child process (so it can be SIGKILLed): receives
// OrderPlaced from RabbitMQ into a saga that ships the order and replies OrderShipped over NATS.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import {
  amqpSource,
  FlowbusModule,
  natsDestination,
  Saga,
  SagaStep,
  type SagaContext,
} from '../../libs/flowbus/src/index.js';
import { OrderPlaced, OrderShipped, type TwoServicesConfig } from './events.js';

const config = JSON.parse(process.env.TWO_SERVICES ?? '{}') as TwoServicesConfig;

@Saga({ name: 'shipment', initialState: () => ({ shipmentNo: 0 }) })
class Shipment {
  @SagaStep(OrderPlaced, { start: true, correlate: (e: OrderPlaced) => e.orderId })
  async placed(e: OrderPlaced, ctx: SagaContext<{ shipmentNo: number }>) {
    // The effect: one shipment row per order, written with the step's transaction.
    const [row] = await ctx.manager.query('INSERT INTO shipment (order_id) VALUES ($1) RETURNING no', [e.orderId]);
    ctx.state.shipmentNo = row.no;
    ctx.publish(Object.assign(new OrderShipped(), { orderId: e.orderId, shipmentNo: row.no }));
    ctx.complete();
  }
}

const dataSource = new DataSource({ type: 'postgres', url: config.databaseUrl, extra: { max: 10 } });
await dataSource.initialize();
await dataSource.query('CREATE TABLE IF NOT EXISTS shipment (no serial PRIMARY KEY, order_id text NOT NULL)');

@Module({
  imports: [
    FlowbusModule.forRoot({
      dataSource,
      // A short lease: the replies the killed instance had claimed go out again soon.
      relay: { pollIntervalMs: 100, leaseMs: 1000 },
      sources: {
        orders: amqpSource({
          url: config.rabbitUrl,
          queue: config.queue,
          prefetch: 20,
          bindings: [{ exchange: config.exchange, routingKey: OrderPlaced.eventType }],
        }),
      },
      destinations: {
        replies: natsDestination({
          servers: config.natsUrl,
          subject: `${config.subject}.shipped`,
          stream: config.stream,
        }),
      },
      routes: [{ event: OrderShipped, destination: 'replies' }],
    }),
  ],
  providers: [Shipment],
})
class ShippingModule {}

const app = await NestFactory.createApplicationContext(ShippingModule, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
process.send?.({ event: 'ready' });

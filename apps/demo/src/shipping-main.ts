import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import { demoBrokerFromEnv } from './broker/demo-broker.js';
import { startLocalDatabase } from './database/local-database.js';
import { ShippingServiceModule } from './shipping/shipping-service.module.js';

/** `.data/pg-shipping` at the repository root: the shipping service's own database. */
const DATA_DIR = fileURLToPath(new URL('../../../.data/pg-shipping', import.meta.url));
const logger = new Logger('Shipping');

/**
 * The demo's shipping service as a second process, talking to the shop through RabbitMQ
 * (`AMQP_URL`) or NATS JetStream (`NATS_URL`) — start the shop with the same variable. Its database:
 * `SHIPPING_DATABASE_URL`, else an embedded PostgreSQL in `.data/pg-shipping`. Port: `SHIPPING_PORT`
 * (3001), for `POST /simulate/shipping`.
 */
async function main(): Promise<void> {
  const broker = demoBrokerFromEnv(process.env);
  if (!broker) throw new Error('Set AMQP_URL or NATS_URL: the shipping service talks to the shop through a broker');
  const database = process.env.SHIPPING_DATABASE_URL ? undefined : await startLocalDatabase(DATA_DIR);
  const databaseUrl = process.env.SHIPPING_DATABASE_URL ?? database!.url;
  const app = await NestFactory.create(ShippingServiceModule.forRoot({ databaseUrl, broker }));
  app.enableShutdownHooks();
  const port = Number(process.env.SHIPPING_PORT ?? 3001);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  logger.log(`Shipping service on port ${port}, talking to the shop through ${broker.shown}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void app
        .close()
        .then(() => database?.server.stop())
        .then(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => {
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});

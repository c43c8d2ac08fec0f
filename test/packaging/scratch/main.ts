// The core-only scratch app: no admin entry, so none of its optional peers is needed.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { checkDelivery, CheckReceiver, flowbusImports } from './flowbus-check.js';

@Module({ imports: flowbusImports(process.env.DATABASE_URL!), providers: [CheckReceiver] })
class AppModule {}

// No top-level await: the same file compiles to CommonJS.
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  try {
    await checkDelivery(app);
    console.log('delivered');
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

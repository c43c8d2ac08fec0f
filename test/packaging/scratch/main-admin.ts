// The scratch app with the admin API: the same delivery, then the admin API over HTTP.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FlowbusAdminModule } from 'nestjs-flowbus/admin';
import { checkDelivery, CheckReceiver, flowbusImports } from './flowbus-check.js';

const TOKEN = 'packaging-test-admin-token';

@Module({
  imports: [...flowbusImports(process.env.DATABASE_URL!), FlowbusAdminModule.forRoot({ token: TOKEN })],
  providers: [CheckReceiver],
})
class AppModule {}

// No top-level await: the same file compiles to CommonJS.
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  try {
    await app.listen(0, '127.0.0.1');
    await checkDelivery(app);
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const stats = await fetch(`${base}/flowbus/stats`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const body = (await stats.json()) as { outbox?: { delivered?: number } };
    if (stats.status !== 200 || typeof body.outbox?.delivered !== 'number') {
      throw new Error(`GET /flowbus/stats answered ${stats.status}: ${JSON.stringify(body)}`);
    }
    const anonymous = await fetch(`${base}/flowbus/stats`);
    if (anonymous.status !== 401) throw new Error(`GET /flowbus/stats without a token answered ${anonymous.status}`);
    console.log('delivered; admin API answers');
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

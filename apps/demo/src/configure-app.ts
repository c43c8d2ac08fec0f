import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

export const DOCS_PATH = 'docs';

/**
 * What `main.ts` and the tests both set up on the app: the Swagger UI at `/docs`, documenting
 * the demo's routes and the Flowbus admin API (served from `swagger-ui-dist`, no CDN).
 */
export function configureApp(app: INestApplication): INestApplication {
  const config = new DocumentBuilder()
    .setTitle('Flowbus demo: order fulfilment')
    .setDescription(
      [
        'An order-fulfilment saga on **nestjs-flowbus**: `POST /orders` writes the order and `OrderPlaced` in one',
        'transaction; the saga charges the payment, reserves stock and ships through the outbox, with a payment',
        'timeout and compensations. Flip `POST /simulate/{service}` to make a service fail, lag or go down.',
        '',
        'The **flowbus** routes are the Flowbus admin API: click *Authorize* and paste the admin token printed at start-up.',
        'The dashboard is at [/flowbus/](/flowbus/).',
      ].join('\n'),
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The Flowbus admin token' })
    .addTag('orders', 'The shop: place orders and follow them')
    .addTag('simulation', 'Switches of the simulated payment, inventory and shipping services')
    .addTag('simulated services', 'Endpoints the Flowbus relay calls (HTTP destination)')
    .addTag('flowbus', 'Flowbus admin API: outbox, dead letters, sagas, breakers')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup(DOCS_PATH, app, document, {
    customSiteTitle: 'Flowbus demo API',
    swaggerOptions: { persistAuthorization: true },
  });
  return app;
}

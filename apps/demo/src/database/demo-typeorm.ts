import { TypeOrmModule } from '@nestjs/typeorm';
import { DemoSchema1751328000000 } from './1751328000000-demo-schema.migration.js';

/** The demo's TypeORM connection: its own tables come from its migration (Flowbus's from Flowbus). */
export function demoTypeOrm(url: string) {
  return TypeOrmModule.forRoot({
    type: 'postgres',
    url,
    autoLoadEntities: true,
    migrations: [DemoSchema1751328000000],
    migrationsRun: true,
    migrationsTableName: 'demo_migrations',
    retryAttempts: 2,
    retryDelay: 1000,
    extra: { max: 20 },
  });
}

import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { AdminExceptionFilter } from './admin-exception.filter.js';
import type { FlowbusAdminAsyncOptions, FlowbusAdminOptions } from './admin-options.interface.js';
import { AdminTokenGuard } from './admin-token.guard.js';
import { FLOWBUS_ADMIN_OPTIONS } from './admin.constants.js';
import { createAdminController } from './admin.controller.js';
import { AdminService } from './admin.service.js';
import { StallDiagnosis } from './stall-diagnosis.js';
import { createDashboardController } from './dashboard.controller.js';
import { mountOf, resolveAdminOptions, type AdminMount } from './resolve-admin-options.js';

/**
 * The Flowbus admin HTTP API (outbox, dead letters, sagas, breakers; documented with
 * `@nestjs/swagger`) and its dashboard page, under `/<path>`. Its own entry point,
 * `nestjs-flowbus/admin`, so apps that do not import it load neither it nor its optional peers
 * (`@nestjs/swagger`, `class-validator`, `class-transformer`). Needs `FlowbusModule` (global,
 * its default) in the same app. A guard or a token is required: without either, bootstrap fails.
 *
 * @example
 * imports: [
 *   FlowbusModule.forRoot(),
 *   FlowbusAdminModule.forRoot({ token: process.env.FLOWBUS_ADMIN_TOKEN }),
 * ]
 */
@Module({})
export class FlowbusAdminModule {
  /** Mounts the admin API and dashboard with static options. */
  static forRoot(options: FlowbusAdminOptions = {}): DynamicModule {
    return adminModule(mountOf(options), {
      provide: FLOWBUS_ADMIN_OPTIONS,
      useFactory: () => resolveAdminOptions(options),
    });
  }

  /**
   * Mounts the admin API and dashboard at `path`, behind `guard` when given, with the bearer
   * token from a factory (e.g. from `ConfigService`).
   */
  static forRootAsync(options: FlowbusAdminAsyncOptions): DynamicModule {
    const { path, guard, imports, inject, useFactory } = options;
    const statics = { ...(path === undefined ? {} : { path }), ...(guard === undefined ? {} : { guard }) };
    return {
      ...adminModule(mountOf(statics), {
        provide: FLOWBUS_ADMIN_OPTIONS,
        inject: inject ?? [],
        useFactory: async (...args: unknown[]) => resolveAdminOptions(statics, (await useFactory(...args)) ?? {}),
      }),
      imports: imports ?? [],
    };
  }
}

function adminModule(mount: AdminMount, options: Provider): DynamicModule {
  return {
    module: FlowbusAdminModule,
    controllers: [createAdminController(mount), createDashboardController(mount.path)],
    providers: [options, AdminService, StallDiagnosis, AdminTokenGuard, AdminExceptionFilter],
  };
}

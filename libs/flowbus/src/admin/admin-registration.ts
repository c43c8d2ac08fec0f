import type { DynamicModule } from '@nestjs/common';
import { AdminEnabledGuard } from './admin-enabled.guard.js';
import { AdminExceptionFilter } from './admin-exception.filter.js';
import { FLOWBUS_ADMIN_MOUNT, type AdminMount } from './admin-mount.js';
import { AdminTokenGuard } from './admin-token.guard.js';
import { createAdminController } from './admin.controller.js';
import { AdminService } from './admin.service.js';
import { createDashboardController } from './dashboard.controller.js';

/** Adds the admin controllers and their providers to Flowbus's dynamic module. */
export function withAdmin(module: DynamicModule, mount: AdminMount | undefined): DynamicModule {
  if (!mount) return module;
  return {
    ...module,
    controllers: [...(module.controllers ?? []), createAdminController(mount), createDashboardController(mount.path)],
    providers: [
      ...(module.providers ?? []),
      { provide: FLOWBUS_ADMIN_MOUNT, useValue: mount },
      AdminService,
      AdminEnabledGuard,
      AdminTokenGuard,
      AdminExceptionFilter,
    ],
  };
}

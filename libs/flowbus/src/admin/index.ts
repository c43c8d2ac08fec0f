// The public surface of nestjs-flowbus/admin: the admin HTTP API and dashboard. Its optional peers
// (@nestjs/swagger, class-validator, class-transformer) are loaded only through this entry point.
export { FlowbusAdminModule } from './flowbus-admin.module.js';
export type {
  FlowbusAdminAsyncOptions,
  FlowbusAdminFactoryOptions,
  FlowbusAdminOptions,
} from './admin-options.interface.js';

// The public surface of nestjs-flowbus/health: the @nestjs/terminus health indicator. Its optional
// peer (@nestjs/terminus) is loaded only through this entry point.
export { FlowbusHealthIndicator } from './flowbus.health.js';
export type { FlowbusHealthOptions } from './flowbus-health-options.interface.js';

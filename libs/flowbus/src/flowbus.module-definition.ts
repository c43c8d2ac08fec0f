import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { FlowbusOptions } from './options/flowbus-options.interface.js';

export const {
  ConfigurableModuleClass: FlowbusConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE: FLOWBUS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: FLOWBUS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<FlowbusOptions>({ moduleName: 'Flowbus' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** Options of `FlowbusModule.forRootAsync`. */
export type FlowbusAsyncOptions = typeof FLOWBUS_ASYNC_OPTIONS_TYPE;

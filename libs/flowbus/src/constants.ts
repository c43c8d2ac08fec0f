/** Metadata key written by `@HandleEvent`: an array of handler declarations on a method. */
export const HANDLE_EVENT_METADATA = 'flowbus:handle-event';

/** Metadata keys of the saga decorators. */
export const SAGA_METADATA = 'flowbus:saga';
export const SAGA_STEP_METADATA = 'flowbus:saga-step';
export const ON_TIMEOUT_METADATA = 'flowbus:on-timeout';

/** Injection token of the options as the user passed them. */
export { MODULE_OPTIONS_TOKEN as FLOWBUS_MODULE_OPTIONS } from './flowbus.module-definition.js';

/** Injection token of the resolved (defaults merged, validated) options. */
export const FLOWBUS_RESOLVED_OPTIONS = Symbol('FLOWBUS_RESOLVED_OPTIONS');

/** Injection token of the TypeORM DataSource Flowbus works with. */
export const FLOWBUS_DATA_SOURCE = Symbol('FLOWBUS_DATA_SOURCE');

/** Injection token of the clock (tests replace it to move time). */
export const FLOWBUS_CLOCK = Symbol('FLOWBUS_CLOCK');

/** Names under which Flowbus registers its timers in `SchedulerRegistry`. */
export const RELAY_TIMER = 'flowbus-relay';
export const TIMEOUTS_TIMER = 'flowbus-timeouts';
export const RETENTION_TIMER = 'flowbus-retention';

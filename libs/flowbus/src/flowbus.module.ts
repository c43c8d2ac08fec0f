import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { EventBus } from './bus/event-bus.js';
import { DurableHandlerRegistry } from './bus/durable-handler-registry.js';
import { HandlerExplorer } from './bus/handler.explorer.js';
import { HandlerRegistry } from './bus/handler-registry.js';
import { FLOWBUS_CLOCK, FLOWBUS_RESOLVED_OPTIONS } from './constants.js';
import { dataSourceProvider } from './database/data-source.provider.js';
import { SchemaInitializer } from './database/schema.initializer.js';
import { DecoratedMethods } from './discovery/decorated-methods.js';
import {
  applyAdminMount,
  FLOWBUS_ADMIN_MOUNT,
  mountOfAsync,
  mountOfOptions,
  type AdminMount,
} from './admin/admin-mount.js';
import { withAdmin } from './admin/admin-registration.js';
import {
  FlowbusConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  type FlowbusAsyncOptions,
  type FLOWBUS_OPTIONS_TYPE,
} from './flowbus.module-definition.js';
import type { FlowbusOptions } from './options/flowbus-options.interface.js';
import { resolveOptions } from './options/resolve-options.js';
import type { ResolvedOptions } from './options/resolved-options.interface.js';
import { CommitWatcher } from './outbox/commit-watcher.js';
import { OutboxRows } from './outbox/outbox-rows.js';
import { OutboxService } from './outbox/outbox.service.js';
import { PayloadCodec } from './outbox/payload-codec.js';
import { SubscriberDirectory } from './outbox/subscriber-directory.js';
import { BreakerRegistry } from './relay/breaker.registry.js';
import { LocalDestination } from './relay/local.destination.js';
import { NotifyListener } from './relay/notify-listener.js';
import { OutboxRelay } from './relay/outbox-relay.js';
import { RelaySignal } from './relay/relay-signal.js';
import { RetentionService } from './relay/retention.service.js';
import { SagaEngine } from './saga/saga.engine.js';
import { SagaExplorer } from './saga/saga.explorer.js';
import { SagaRegistry } from './saga/saga.registry.js';
import { SagaService } from './saga/saga.service.js';
import { TimeoutAlarm } from './saga/timeout-alarm.js';
import { TimeoutScheduler } from './saga/timeout.scheduler.js';

/**
 * Flowbus: in-process event bus, transactional outbox with its relay, and sagas, on PostgreSQL.
 * Global by default (`isGlobal: false` to scope it).
 *
 * @example
 * FlowbusModule.forRoot({ relay: { pollIntervalMs: 500 } })
 * FlowbusModule.forRootAsync({ inject: [ConfigService], useFactory: (c) => ({ schema: c.get('FLOWBUS_SCHEMA') }) })
 */
@Module({
  imports: [DiscoveryModule, ScheduleModule.forRoot()],
  providers: [
    {
      provide: FLOWBUS_RESOLVED_OPTIONS,
      inject: [MODULE_OPTIONS_TOKEN, { token: FLOWBUS_ADMIN_MOUNT, optional: true }],
      useFactory: (options: FlowbusOptions, mount?: AdminMount) => resolveOptions(applyAdminMount(options, mount)),
    },
    {
      provide: FLOWBUS_CLOCK,
      inject: [FLOWBUS_RESOLVED_OPTIONS],
      useFactory: (options: ResolvedOptions) => options.clock,
    },
    dataSourceProvider,
    SchemaInitializer,
    DecoratedMethods,
    HandlerRegistry,
    DurableHandlerRegistry,
    HandlerExplorer,
    EventBus,
    RelaySignal,
    CommitWatcher,
    PayloadCodec,
    SubscriberDirectory,
    OutboxRows,
    OutboxService,
    BreakerRegistry,
    LocalDestination,
    NotifyListener,
    OutboxRelay,
    RetentionService,
    SagaRegistry,
    SagaEngine,
    SagaExplorer,
    SagaService,
    TimeoutAlarm,
    TimeoutScheduler,
  ],
  exports: [EventBus, OutboxService, BreakerRegistry, OutboxRelay, SagaService, TimeoutScheduler],
})
export class FlowbusModule extends FlowbusConfigurableModule {
  /** Registers Flowbus; with `admin.enabled`, also the admin API and dashboard at `admin.path`. */
  static override forRoot(options: typeof FLOWBUS_OPTIONS_TYPE): DynamicModule {
    return withAdmin(super.forRoot(options), mountOfOptions(options.admin));
  }

  /**
   * Registers Flowbus with options from a factory. Routes are registered before the factory
   * runs: pass `admin: { path?, guard? }` here to mount the admin API; the factory's
   * `admin.enabled` then switches it on (its routes answer 404 while off) and gives the token.
   */
  static override forRootAsync(options: FlowbusAsyncOptions): DynamicModule {
    const { admin, ...rest } = options;
    return withAdmin(super.forRootAsync(rest), mountOfAsync(admin));
  }
}

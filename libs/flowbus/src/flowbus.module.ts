import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventBus } from './bus/event-bus.js';
import { DurableHandlerRegistry } from './bus/durable-handler-registry.js';
import { HandlerExplorer } from './bus/handler.explorer.js';
import { HandlerRegistry } from './bus/handler-registry.js';
import { FLOWBUS_CLOCK, FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from './constants.js';
import { dataSourceProvider } from './database/data-source.provider.js';
import { SchemaInitializer } from './migrations/schema.initializer.js';
import { DecoratedMethods } from './discovery/decorated-methods.js';
import { FlowbusConfigurableModule, MODULE_OPTIONS_TOKEN } from './flowbus.module-definition.js';
import type { FlowbusOptions } from './options/flowbus-options.interface.js';
import { resolveOptions } from './options/resolve-options.js';
import type { ResolvedOptions } from './options/resolved-options.interface.js';
import { CommitWatcher } from './outbox/commit-watcher.js';
import { OutboxRows } from './outbox/outbox-rows.js';
import { LogWriteBehind } from './outbox/log-write-behind.js';
import { OutboxService } from './outbox/outbox.service.js';
import { PayloadCodec } from './outbox/payload-codec.js';
import { SubscriberDirectory } from './outbox/subscriber-directory.js';
import { BreakerRegistry } from './relay/breaker.registry.js';
import { LocalDestination } from './relay/local.destination.js';
import { NotifyListener } from './relay/notify-listener.js';
import { OutboxRelay } from './relay/outbox-relay.js';
import { RelaySignal } from './outbox/relay-signal.js';
import { RetentionService } from './relay/retention.service.js';
import { SagaEngine } from './saga/saga.engine.js';
import { ReceivedStore } from './sources/received-store.js';
import { SourceRunner } from './sources/source-runner.js';
import { SagaExplorer } from './saga/saga.explorer.js';
import { SagaRegistry } from './saga/saga.registry.js';
import { SagaService } from './saga/saga.service.js';
import { TimeoutAlarm } from './saga/timeout-alarm.js';
import { TimeoutScheduler } from './saga/timeout.scheduler.js';
import { FlowbusTimers } from './scheduling/flowbus-timers.js';
import { FlowbusMetrics } from './telemetry/flowbus-metrics.js';
import { FlowbusGauges } from './monitoring/flowbus-gauges.js';
import { FlowbusStats } from './monitoring/flowbus-stats.js';
import { FlowbusTelemetry } from './telemetry/flowbus-telemetry.js';

/**
 * Flowbus: in-process event bus, transactional outbox with its relay, and sagas, on PostgreSQL.
 * Global by default (`isGlobal: false` to scope it). The admin API is a module of its own:
 * `FlowbusAdminModule` from `nestjs-flowbus/admin`, which needs this module global.
 *
 * @example
 * FlowbusModule.forRoot({ relay: { pollIntervalMs: 500 } })
 * FlowbusModule.forRootAsync({ inject: [ConfigService], useFactory: (c) => ({ schema: c.get('FLOWBUS_SCHEMA') }) })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: FLOWBUS_RESOLVED_OPTIONS,
      inject: [MODULE_OPTIONS_TOKEN],
      useFactory: (options: FlowbusOptions) => resolveOptions(options),
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
    LogWriteBehind,
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
    FlowbusTimers,
    FlowbusStats,
    FlowbusMetrics,
    FlowbusGauges,
    FlowbusTelemetry,
    ReceivedStore,
    SourceRunner,
  ],
  exports: [
    EventBus,
    OutboxService,
    BreakerRegistry,
    OutboxRelay,
    SagaService,
    TimeoutScheduler,
    // For FlowbusAdminModule (nestjs-flowbus/admin); not public API.
    FLOWBUS_RESOLVED_OPTIONS,
    FLOWBUS_DATA_SOURCE,
    RelaySignal,
    DurableHandlerRegistry,
    // For FlowbusAdminModule and FlowbusHealthIndicator; not public API.
    FlowbusStats,
    // For FlowbusAdminModule ("why is it stalled?": paused sources); not public API.
    SourceRunner,
  ],
})
export class FlowbusModule extends FlowbusConfigurableModule {}

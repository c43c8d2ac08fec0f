// The public surface of nestjs-flowbus. Everything not exported here is internal.
export { FlowbusModule } from './flowbus.module.js';
export type {
  AdminOptions,
  BackoffOptions,
  BusOptions,
  CircuitBreakerOptions,
  FlowbusOptions,
  RelayOptions,
  RouteOptions,
  TimeoutOptions,
} from './options/flowbus-options.interface.js';
export type { Clock } from './options/clock.js';

export { EventBus } from './bus/event-bus.js';
export { HandleEvent } from './bus/handle-event.decorator.js';
export type { HandleEventOptions } from './bus/handle-event.decorator.js';
export type { HandlerFailure, PublishResult } from './bus/publish-result.interface.js';
export { eventTypeOf } from './bus/event-type.js';
export type { EventClass } from './bus/event-type.js';

export { OutboxService } from './outbox/outbox.service.js';
export type { OutboxMessage, OutboxPublishOptions } from './outbox/outbox-message.interface.js';
export { OutboxRelay } from './relay/outbox-relay.js';
export { BreakerRegistry } from './relay/breaker.registry.js';
export type { BreakerSnapshot, BreakerState } from './relay/breaker.registry.js';
export type { Destination, DeliveryMessage } from './relay/destination.interface.js';

export { flowbusMigrations } from './migrations/flowbus-migrations.js';

export { FlowbusError } from './errors/flowbus.error.js';
export { ConfigurationError } from './errors/configuration.error.js';
export { HandlerFailuresError } from './errors/handler-failures.error.js';
export { HandlerTimeoutError } from './errors/handler-timeout.error.js';
export { InvalidEventError } from './errors/invalid-event.error.js';
export { InvalidOptionsError } from './errors/invalid-options.error.js';
export { NonRetryableError } from './errors/non-retryable.error.js';
export { NotInTransactionError } from './errors/not-in-transaction.error.js';
export { InvalidMessageError } from './errors/invalid-message.error.js';
export { UnknownDestinationError } from './errors/unknown-destination.error.js';

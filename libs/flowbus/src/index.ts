// The public surface of nestjs-flowbus. Everything not exported here is internal.
export { FlowbusModule } from './flowbus.module.js';
export type {
  BackoffOptions,
  BusOptions,
  CircuitBreakerOptions,
  FlowbusOptions,
  RelayOptions,
  RouteOptions,
  TelemetryOptions,
  TimeoutOptions,
} from './options/flowbus-options.interface.js';
export type { Clock } from './options/clock.js';

export { EventBus } from './bus/event-bus.js';
export { HandleEvent } from './bus/handle-event.decorator.js';
export type { HandleEventOptions, HandlerDecorator } from './bus/handle-event.decorator.js';
export type { HandlerFailure, PublishResult } from './bus/publish-result.interface.js';
export { eventTypeOf } from './bus/event-type.js';
export type { EventClass, EventInstance } from './bus/event-type.js';

export { OutboxService } from './outbox/outbox.service.js';
export type { OutboxMessage, OutboxPublishOptions } from './outbox/outbox-message.interface.js';
export type { PayloadSerializer } from './outbox/payload-serializer.interface.js';
export { OutboxRelay } from './relay/outbox-relay.js';
export type { RelayStatus } from './relay/outbox-relay.js';
export { BreakerRegistry } from './relay/breaker.registry.js';
export type { BreakerSnapshot, BreakerState } from './relay/breaker.registry.js';
export type { Destination, DeliveryMessage } from './relay/destination.interface.js';

export { Saga } from './saga/saga.decorator.js';
export type { SagaClassDecorator, SagaOptions, SagaPrototypeOf } from './saga/saga.decorator.js';
export { SagaStep } from './saga/saga-step.decorator.js';
export type { SagaMethodDecorator, SagaStepOptions } from './saga/saga-step.decorator.js';
export { OnTimeout } from './saga/on-timeout.decorator.js';
export type { CompensationMessage, SagaContext, SagaStatus } from './saga/saga-context.interface.js';
export { SagaService } from './saga/saga.service.js';
export type { SagaInstance, SagaTimeoutInfo } from './saga/saga.service.js';
export { TimeoutScheduler } from './saga/timeout.scheduler.js';

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
export { NoSubscriberError } from './errors/no-subscriber.error.js';
export { SagaStepError } from './errors/saga-step.error.js';
export { SagaConcurrencyError } from './errors/saga-concurrency.error.js';
export { SagaStateError } from './errors/saga-state.error.js';
export { MigrationsPendingError } from './errors/migrations-pending.error.js';
export { MissingPrivilegesError } from './errors/missing-privileges.error.js';
export type { MissingPrivilege } from './errors/missing-privileges.error.js';

export { httpDestination } from './relay/destinations/http.destination.js';
export type { HttpDestinationOptions } from './relay/destinations/http-destination-options.interface.js';
export { amqpDestination } from './relay/destinations/amqp.destination.js';
export type { AmqpDestinationOptions } from './relay/destinations/amqp-destination-options.interface.js';
export { natsDestination } from './relay/destinations/nats.destination.js';
export type { NatsDestinationOptions } from './relay/destinations/nats-destination-options.interface.js';
export { DeliveryError } from './errors/delivery.error.js';

export { amqpSource } from './sources/amqp.source.js';
export type { AmqpSourceBinding, AmqpSourceOptions } from './sources/amqp-source-options.interface.js';
export { natsSource } from './sources/nats.source.js';
export type { NatsSourceOptions } from './sources/nats-source-options.interface.js';
export type { Source } from './sources/source.interface.js';
export type { ReceivedMessage } from './sources/received-message.interface.js';
export type { RawAmqpMessage, RawNatsMessage } from './sources/raw-message.interface.js';

// The admin API and dashboard have their own entry point: nestjs-flowbus/admin.
export type { FlowbusAsyncOptions } from './flowbus.module-definition.js';

import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { MetadataScanner } from '@nestjs/core';
import type { EntityManager } from 'typeorm';
import { eventTypeOf } from '../bus/event-type.js';
import { DurableHandlerRegistry, type DurableDelivery } from '../bus/durable-handler-registry.js';
import { HandlerRegistry } from '../bus/handler-registry.js';
import { ON_TIMEOUT_METADATA, SAGA_METADATA, SAGA_STEP_METADATA } from '../constants.js';
import { DecoratedMethods } from '../discovery/decorated-methods.js';
import type { EventClass } from '../bus/event-type.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import type { SagaOptions } from './saga.decorator.js';
import type { SagaStepMetadata } from './saga-step.decorator.js';
import type { SagaDefinition, StepDefinition, TimeoutDefinition } from './saga-definition.js';
import { SagaEngine } from './saga.engine.js';
import { SagaRegistry } from './saga.registry.js';

const NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * Finds `@Saga` classes once, validates them, and subscribes their steps to both paths: the
 * in-process bus (a handler per step) and the outbox (one durable subscriber `saga:<name>` per
 * event type, so each saga is retried alone).
 */
@Injectable()
export class SagaExplorer implements OnModuleInit {
  private readonly logger = new Logger('Flowbus:Sagas');

  constructor(
    private readonly methods: DecoratedMethods,
    private readonly scanner: MetadataScanner,
    private readonly registry: SagaRegistry,
    private readonly bus: HandlerRegistry,
    private readonly durable: DurableHandlerRegistry,
    private readonly engine: SagaEngine,
  ) {}

  onModuleInit(): void {
    const sagaInstances = new Set<object>();
    for (const found of this.methods.findClasses<SagaOptions>(SAGA_METADATA)) {
      sagaInstances.add(found.instance);
      const saga = this.define(found.instance, found.className, found.metadata);
      this.registry.add(saga);
      this.subscribe(saga);
    }
    for (const m of this.methods.find<SagaStepMetadata[]>(SAGA_STEP_METADATA)) {
      if (!sagaInstances.has(m.instance)) {
        throw new ConfigurationError(
          `${m.className}.${m.methodName} has @SagaStep but ${m.className} is not decorated with @Saga`,
        );
      }
    }
    const names = this.registry.names();
    if (names.length > 0) this.logger.log(`Registered saga(s): ${names.join(', ')}`);
  }

  private define(instance: object, className: string, options: SagaOptions): SagaDefinition {
    if (typeof options?.name !== 'string' || !NAME.test(options.name)) {
      throw new ConfigurationError(`@Saga on ${className}: name must match ${String(NAME)}`);
    }
    const existing = this.registry.get(options.name);
    if (existing) {
      throw new ConfigurationError(`Two sagas are named "${options.name}": ${existing.className} and ${className}`);
    }
    const steps = new Map<string, StepDefinition>();
    const timeouts = new Map<string, TimeoutDefinition>();
    const prototype = Object.getPrototypeOf(instance) as Record<string, StepDefinition['method']>;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName]!;
      const stepMeta = Reflect.getMetadata(SAGA_STEP_METADATA, method) as SagaStepMetadata[] | undefined;
      for (const s of stepMeta ?? []) {
        const eventType = eventTypeOf(s.event);
        const other = steps.get(eventType);
        if (other) {
          throw new ConfigurationError(
            `Saga ${className} has two steps for ${eventType}: ${other.methodName} and ${methodName}`,
          );
        }
        steps.set(eventType, {
          eventType,
          eventClass: s.event,
          methodName,
          start: s.start,
          correlate: s.correlate as StepDefinition['correlate'],
          method,
        });
      }
      const timeoutClass = Reflect.getMetadata(ON_TIMEOUT_METADATA, method) as EventClass | undefined;
      if (timeoutClass) {
        const timeoutType = eventTypeOf(timeoutClass);
        const other = timeouts.get(timeoutType);
        if (other) {
          throw new ConfigurationError(
            `Saga ${className} has two @OnTimeout(${timeoutType}): ${other.methodName} and ${methodName}`,
          );
        }
        timeouts.set(timeoutType, { timeoutType, timeoutClass, methodName, method });
      }
    }
    if (![...steps.values()].some((s) => s.start)) {
      throw new ConfigurationError(`Saga ${className} has no start step: mark one @SagaStep with { start: true }`);
    }
    return {
      name: options.name,
      className,
      instance,
      initialState: options.initialState ?? (() => ({})),
      steps,
      timeouts,
    };
  }

  private subscribe(saga: SagaDefinition): void {
    const invokeMany = (deliveries: readonly DurableDelivery[], manager: EntityManager, attempt: number) =>
      this.engine.handleEvents(saga, `saga:${saga.name}`, deliveries, manager, attempt);
    for (const step of saga.steps.values()) {
      this.bus.add(step.eventType, {
        name: `${saga.className}.${step.methodName}`,
        invoke: (event) => this.engine.handleEvent(saga, step, event),
      });
      this.durable.add(step.eventType, {
        subscriber: `saga:${saga.name}`,
        eventClass: step.eventClass,
        invokeMany,
      });
    }
  }
}

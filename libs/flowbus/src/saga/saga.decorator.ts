import { Injectable, SetMetadata } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants.js';
import { SAGA_METADATA } from '../constants.js';

/** Options of `@Saga`. */
export interface SagaOptions<S extends object = object> {
  /** Unique, stable name: stored with every instance; renaming it orphans running instances. */
  name: string;
  /** State of a new instance, before its start step runs. @default () => ({}) */
  initialState?: () => S;
}

/**
 * Declares a saga (process manager): a singleton provider whose `@SagaStep` methods react to
 * events for one instance, found by correlation id, with state, timeouts and compensations kept
 * in PostgreSQL. Also makes the class `@Injectable()`.
 *
 * @example
 * @Saga({ name: 'order-fulfillment', initialState: () => ({ paid: false }) })
 * export class OrderFulfillment { ... }
 */
export function Saga<S extends object>(options: SagaOptions<S>): ClassDecorator {
  return (target) => {
    // Keep a scope set by an @Injectable({ scope }) applied before this one: discovery must see
    // it to refuse a request-scoped saga instead of silently turning it into a singleton.
    Injectable(Reflect.getMetadata(SCOPE_OPTIONS_METADATA, target))(target);
    SetMetadata(SAGA_METADATA, options)(target);
  };
}

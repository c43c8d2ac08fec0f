import { Injectable, SetMetadata } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants.js';
import { SAGA_METADATA } from '../constants.js';
import { recordDecoratedClass } from '../discovery/decorated-classes.js';
import type { SagaContext } from './saga-context.interface.js';

/** Options of `@Saga`. */
export interface SagaOptions<S extends object = object> {
  /** Unique, stable name: stored with every instance; renaming it orphans running instances. */
  name: string;
  /** State of a new instance, before its start step runs. @default () => ({}) */
  initialState?: () => S;
}

/** `SagaContext` without a type argument: its state is `Record<string, unknown>`, nothing to check. */
type IsUntyped<T> = [Record<string, unknown>] extends [T]
  ? [T] extends [Record<string, unknown>]
    ? true
    : false
  : false;

/** True when a state `S` (from `initialState`) can be handed to a step that wants `T`. */
type Fits<S, T> = IsUntyped<T> extends true ? true : [S] extends [T] ? true : false;

/**
 * The saga class's prototype as `@Saga` accepts it: each method taking a `SagaContext<T>` second
 * must be able to work on the `S` that `initialState` builds; any other member passes as is.
 */
export type SagaPrototypeOf<I, S extends object> = {
  [K in keyof I]: I[K] extends (event: never, ctx: SagaContext<infer T>, ...rest: never[]) => unknown
    ? Fits<S, T> extends true
      ? I[K]
      : (event: never, ctx: SagaContext<S>) => unknown
    : I[K];
};

/**
 * A class decorator that checks the saga's steps against its `initialState`: a step whose
 * `SagaContext<T>` wants a state that `initialState` does not build (a missing field, another
 * type) does not compile. Without `initialState` (`S` is `never`) there is nothing to check.
 */
export type SagaClassDecorator<S extends object> = <C extends abstract new (...args: never[]) => object>(
  target: C & { prototype: SagaPrototypeOf<InstanceType<C>, S> },
) => void;

/**
 * Declares a saga (process manager): a singleton provider whose `@SagaStep` methods react to
 * events for one instance, found by correlation id, with state, timeouts and compensations kept
 * in PostgreSQL. Also makes the class `@Injectable()`; list it in a module's `providers`.
 *
 * @example
 * @Saga({ name: 'order-fulfillment', initialState: (): OrderState => ({ paid: false }) })
 * export class OrderFulfillment { ... }
 */
export function Saga<S extends object = never>(options: SagaOptions<S>): SagaClassDecorator<S> {
  return (target) => {
    // Keep a scope set by an @Injectable({ scope }) applied before this one: discovery must see
    // it to refuse a request-scoped saga instead of silently turning it into a singleton.
    Injectable(Reflect.getMetadata(SCOPE_OPTIONS_METADATA, target))(target as unknown as new () => object);
    SetMetadata(SAGA_METADATA, options)(target);
    recordDecoratedClass(target, '@Saga');
  };
}

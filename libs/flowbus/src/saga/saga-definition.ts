import type { EventClass } from '../bus/event-type.js';
import type { SagaContext } from './saga-context.interface.js';

type StepMethod = (event: object, ctx: SagaContext<object>) => unknown;

/** One `@SagaStep` as the engine runs it. */
export interface StepDefinition {
  readonly eventType: string;
  readonly eventClass: EventClass;
  readonly methodName: string;
  readonly start: boolean;
  readonly correlate: (event: object) => unknown;
  readonly method: StepMethod;
}

/** One `@OnTimeout` as the engine runs it. */
export interface TimeoutDefinition {
  readonly timeoutType: string;
  readonly timeoutClass: EventClass;
  readonly methodName: string;
  readonly method: StepMethod;
}

/** A discovered `@Saga` class with its steps and timeout handlers by type name. */
export interface SagaDefinition {
  readonly name: string;
  readonly className: string;
  readonly instance: object;
  readonly initialState: () => object;
  readonly steps: ReadonlyMap<string, StepDefinition>;
  readonly timeouts: ReadonlyMap<string, TimeoutDefinition>;
}

import { describeError } from './handler-failures.error.js';
import { FlowbusError } from './flowbus.error.js';

/** Wraps an error thrown by a saga step or timeout handler, naming where it happened. */
export class SagaStepError extends FlowbusError {
  constructor(
    readonly sagaName: string,
    readonly step: string,
    readonly eventType: string,
    readonly correlationId: string,
    cause: unknown,
  ) {
    super(
      'FLOWBUS_SAGA_STEP_FAILED',
      `Saga "${sagaName}" step ${step} failed on ${eventType} for correlation id "${correlationId}": ${describeError(cause)}`,
      { cause },
    );
  }
}

import { FlowbusError } from './flowbus.error.js';

/** A step kept losing the race for its instance (version conflicts) and gave up. */
export class SagaConcurrencyError extends FlowbusError {
  constructor(sagaName: string, correlationId: string, attempts: number) {
    super(
      'FLOWBUS_SAGA_CONCURRENCY',
      `Saga "${sagaName}" instance "${correlationId}" changed under ${attempts} attempts of one step`,
    );
  }
}

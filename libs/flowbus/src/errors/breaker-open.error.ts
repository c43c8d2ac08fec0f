import { FlowbusError } from './flowbus.error.js';

/**
 * A delivery refused by its destination's open circuit breaker, or one that failed after the
 * breaker had opened (an echo of the outage, not of the message). The relay gives the row back
 * without counting an attempt. Internal: it never reaches a user callback.
 * @internal
 */
export class BreakerOpenError extends FlowbusError {
  constructor(destination: string, options?: { cause?: unknown }) {
    super('FLOWBUS_BREAKER_OPEN', `The circuit breaker of destination "${destination}" is open`, options);
  }
}

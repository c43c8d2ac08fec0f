import { FlowbusError } from './flowbus.error.js';

/**
 * An admin request cannot apply to the record in its current state (HTTP 409): a requeue of a
 * dead letter that was requeued already, a retry of a delivered or in-flight message.
 */
export class StateConflictError extends FlowbusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOWBUS_CONFLICT', message, options);
  }
}

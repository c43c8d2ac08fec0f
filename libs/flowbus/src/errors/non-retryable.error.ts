import { FlowbusError } from './flowbus.error.js';

/**
 * Throw it from a destination or a durable handler to send the message straight to the dead
 * letters: retrying cannot help (bad payload, 4xx answer, unknown type).
 */
export class NonRetryableError extends FlowbusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOWBUS_NON_RETRYABLE', message, options);
  }
}

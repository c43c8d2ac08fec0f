import { FlowbusError } from './flowbus.error.js';

/**
 * A delivery a built-in destination could not complete and that is worth retrying: a network
 * error, a timeout, a broker that did not confirm, an HTTP 408/429/5xx answer. The relay records
 * it in the message's error history and retries with backoff.
 */
export class DeliveryError extends FlowbusError {
  /** HTTP status of the answer, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super('FLOWBUS_DELIVERY_FAILED', message, { cause: options.cause });
    this.status = options.status;
  }
}

import { FlowbusError } from './flowbus.error.js';

/** Recorded as the failure of a handler that did not settle within `bus.handlerTimeoutMs`. */
export class HandlerTimeoutError extends FlowbusError {
  constructor(
    readonly handler: string,
    readonly eventType: string,
    readonly timeoutMs: number,
  ) {
    super('FLOWBUS_HANDLER_TIMEOUT', `Handler ${handler} did not settle within ${timeoutMs} ms for event ${eventType}`);
  }
}

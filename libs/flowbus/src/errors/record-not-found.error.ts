import { FlowbusError } from './flowbus.error.js';

/** An admin request named a message, dead letter or saga that does not exist (HTTP 404). */
export class RecordNotFoundError extends FlowbusError {
  constructor(
    readonly kind: string,
    readonly key: string,
  ) {
    super('FLOWBUS_NOT_FOUND', `No ${kind} ${key}`);
  }
}

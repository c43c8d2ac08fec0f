import { FlowbusError } from './flowbus.error.js';

/** Thrown when something that is not a class instance is published as an event. */
export class InvalidEventError extends FlowbusError {
  constructor(message: string) {
    super('FLOWBUS_INVALID_EVENT', message);
  }
}

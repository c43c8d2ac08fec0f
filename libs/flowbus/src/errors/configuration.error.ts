import { FlowbusError } from './flowbus.error.js';

/** Thrown at bootstrap when decorated classes are declared in a way Flowbus cannot honour. */
export class ConfigurationError extends FlowbusError {
  constructor(message: string) {
    super('FLOWBUS_CONFIGURATION', message);
  }
}

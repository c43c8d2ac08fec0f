import { FlowbusError } from './flowbus.error.js';

/** Thrown at bootstrap when an option is invalid; `field` is the option's dotted path. */
export class InvalidOptionsError extends FlowbusError {
  constructor(
    readonly field: string,
    rule: string,
  ) {
    super('FLOWBUS_INVALID_OPTIONS', `Invalid Flowbus option "${field}": ${rule}`);
  }
}

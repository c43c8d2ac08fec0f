import { FlowbusError } from './flowbus.error.js';

/** Thrown by `OutboxService.enqueue` for a message that cannot be stored. */
export class InvalidMessageError extends FlowbusError {
  constructor(
    readonly field: string,
    rule: string,
  ) {
    super('FLOWBUS_INVALID_MESSAGE', `Invalid outbox message "${field}": ${rule}`);
  }
}

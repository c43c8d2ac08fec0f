import { FlowbusError } from './flowbus.error.js';

/** Thrown by `OutboxService.enqueue` for a destination that is not configured. */
export class UnknownDestinationError extends FlowbusError {
  constructor(
    readonly destination: string,
    known: readonly string[],
  ) {
    super(
      'FLOWBUS_UNKNOWN_DESTINATION',
      `Unknown outbox destination "${destination}" (configured: ${known.join(', ')}); ` +
        'add it to FlowbusOptions.destinations in every app that enqueues to it',
    );
  }
}

import type { HandlerFailure } from '../bus/publish-result.interface.js';
import { FlowbusError } from './flowbus.error.js';

/**
 * Rejection of `EventBus.publish` when `bus.propagateHandlerExceptions` is on: raised after every
 * handler settled, listing each failure. `cause` is the first handler's error.
 */
export class HandlerFailuresError extends FlowbusError {
  constructor(
    readonly eventType: string,
    readonly failures: readonly HandlerFailure[],
  ) {
    const list = failures.map((f) => `${f.handler}: ${describeError(f.error)}`).join('; ');
    super('FLOWBUS_HANDLER_FAILURES', `${failures.length} handler(s) failed for event ${eventType}: ${list}`, {
      cause: failures[0]?.error,
    });
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return typeof error === 'string' ? error : JSON.stringify(error);
  } catch {
    // A value JSON cannot serialise (cyclic, BigInt): fall back to its string form.
    return String(error);
  }
}

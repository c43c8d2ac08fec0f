import type { Logger } from '@nestjs/common';
import { describeError } from '../errors/handler-failures.error.js';

/**
 * Runs an ack, reject or keep-alive of a broker message; a failure (the connection went away) is
 * only logged: the broker redelivers an unsettled message, and its id is recognised.
 */
export function settleQuietly(logger: Logger, source: string, what: string, settle: () => void): void {
  try {
    settle();
  } catch (error) {
    logger.debug(`${source}: ${what} failed: ${describeError(error)}`);
  }
}

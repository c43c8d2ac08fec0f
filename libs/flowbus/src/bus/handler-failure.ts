import { errorJson } from '../errors/error-json.js';
import { describeError } from '../errors/handler-failures.error.js';
import type { HandlerFailure } from './publish-result.interface.js';

/**
 * A failure as `publish` reports it. Its JSON form carries the error's name and message (an
 * `Error` alone serialises to `{}`), so a `PublishResult` can be logged or returned as it is.
 */
export class RecordedHandlerFailure implements HandlerFailure {
  readonly message: string;

  constructor(
    readonly handler: string,
    readonly error: unknown,
    readonly timedOut: boolean,
  ) {
    this.message = describeError(error);
  }

  toJSON(): Record<string, unknown> {
    return { handler: this.handler, timedOut: this.timedOut, message: this.message, error: errorJson(this.error) };
  }
}

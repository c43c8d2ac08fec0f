/**
 * Base class of every error Flowbus throws. `code` is stable across versions and safe to switch
 * on; `cause` carries the underlying error when there is one.
 */
export class FlowbusError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

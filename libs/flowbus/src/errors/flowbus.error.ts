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

  /** `{ name, code, message }` and the subclass's own fields: `Error`'s are not enumerable. */
  toJSON(): Record<string, unknown> {
    return { ...(this as object), name: this.name, code: this.code, message: this.message };
  }
}

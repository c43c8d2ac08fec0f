/** One handler that threw, rejected or timed out during a publish. */
export interface HandlerFailure {
  /** `ClassName.methodName` of the handler. */
  readonly handler: string;
  /**
   * What it threw or rejected with (a `HandlerTimeoutError` when it timed out). In JSON it
   * appears as `{ name, message, code? }`: an `Error` alone would serialise to `{}`.
   */
  readonly error: unknown;
  /** The error's message (a non-`Error` value in its string or JSON form). */
  readonly message: string;
  /** True when the handler did not settle within `bus.handlerTimeoutMs`. */
  readonly timedOut: boolean;
}

/** What `EventBus.publish` resolves with once every handler has settled. */
export interface PublishResult {
  readonly eventType: string;
  /** Handlers the event was given to. */
  readonly handlers: number;
  /** Handlers that completed without error. */
  readonly succeeded: number;
  /** Handlers that failed, in registration order; empty when all succeeded. */
  readonly failures: readonly HandlerFailure[];
}

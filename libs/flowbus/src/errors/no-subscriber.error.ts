import { FlowbusError } from './flowbus.error.js';

/**
 * Thrown by `OutboxService.enqueue` (destination `local`), `OutboxService.publish` and a saga
 * step's `ctx.publish` / `ctx.send('local', ...)` for an event type that no durable subscriber
 * in any app on this database handles, and that no route sends anywhere: the message would reach
 * nobody. Thrown before anything is written, so the caller's transaction decides what happens.
 */
export class NoSubscriberError extends FlowbusError {
  constructor(
    readonly eventType: string,
    readonly suggestion: string | undefined,
    inProcessOnly: boolean,
  ) {
    super(
      'FLOWBUS_NO_SUBSCRIBER',
      `No durable subscriber for type "${eventType}" in any app on this database` +
        (suggestion ? ` (did you mean "${suggestion}"?)` : '') +
        (inProcessOnly
          ? `; ${eventType} has in-process handlers only: publish it with EventBus, or mark a handler { durable: true }`
          : '; durable subscribers are @HandleEvent(X, { durable: true }) methods and saga steps, recorded by each app when it starts') +
        '. Nothing was written',
    );
  }
}

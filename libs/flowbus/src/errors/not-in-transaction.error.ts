import { FlowbusError } from './flowbus.error.js';

/** Thrown by the outbox when the EntityManager it is given is not inside a transaction. */
export class NotInTransactionError extends FlowbusError {
  constructor(operation: string) {
    super(
      'FLOWBUS_NOT_IN_TRANSACTION',
      `${operation} needs the EntityManager of an open transaction ` +
        '(dataSource.transaction(manager => ...) or outbox.transaction(...)); ' +
        'without one the message would not commit or roll back with your data',
    );
  }
}

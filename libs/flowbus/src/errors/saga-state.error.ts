import { FlowbusError } from './flowbus.error.js';

/** A `SagaContext` call that makes no sense in the instance's status (e.g. complete after fail). */
export class SagaStateError extends FlowbusError {
  constructor(message: string) {
    super('FLOWBUS_SAGA_STATE', message);
  }
}

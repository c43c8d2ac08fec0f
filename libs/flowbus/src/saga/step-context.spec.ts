import { describe, expect, it } from '@jest/globals';
import type { EntityManager } from 'typeorm';
import { InvalidEventError } from '../errors/invalid-event.error.js';
import { SagaStateError } from '../errors/saga-state.error.js';
import { StepContext } from './step-context.js';

class PaymentTimeout {
  constructor(readonly orderId: string) {}
}
class Reminder {
  static eventType = 'reminder.v2';
}

const NOW = Date.UTC(2026, 0, 1);
const context = () =>
  new StepContext<{ n: number }>('orders', 'o-1', true, {} as EntityManager, NOW, {
    state: { n: 0 },
    compensations: [{ destination: 'local', type: 'Refund', payload: { step: 1 } }],
    reason: null,
  });

describe('StepContext', () => {
  it('keys the messages it sends by saga and correlation id', () => {
    const ctx = context();
    ctx.send('billing', 'Charge', { amount: 5 }, { h: '1' });
    expect(ctx.sent).toEqual([
      { destination: 'billing', type: 'Charge', payload: { amount: 5 }, headers: { h: '1' }, key: 'orders:o-1' },
    ]);
  });

  it('schedules by delay or date, a later schedule of the same type replacing the earlier one', () => {
    const ctx = context();
    ctx.scheduleTimeout(new PaymentTimeout('o-1'), 1000);
    ctx.scheduleTimeout(new PaymentTimeout('o-1'), 5000);
    ctx.scheduleTimeout(new Reminder(), { at: new Date(NOW + 42) });
    expect([...ctx.scheduled.values()].map((t) => [t.type, t.dueAt.getTime() - NOW])).toEqual([
      ['PaymentTimeout', 5000],
      ['reminder.v2', 42],
    ]);
  });

  it('cancelling drops a schedule of the same step and records the cancellation; scheduling again undoes it', () => {
    const ctx = context();
    ctx.scheduleTimeout(new PaymentTimeout('o-1'), 1000);
    ctx.cancelTimeout(PaymentTimeout);
    expect(ctx.scheduled.size).toBe(0);
    expect([...ctx.cancelled]).toEqual(['PaymentTimeout']);
    ctx.scheduleTimeout(new PaymentTimeout('o-1'), 1000);
    expect([...ctx.cancelled]).toEqual([]);
  });

  it('refuses an invalid due time and a plain-object event', () => {
    const ctx = context();
    expect(() => ctx.scheduleTimeout(new PaymentTimeout('o-1'), { at: new Date('nope') })).toThrow(SagaStateError);
    expect(() => ctx.publish({ orderId: 'x' } as object)).toThrow('class instances');
  });

  it('refuses a class where an instance is meant, at the call, naming it', () => {
    const ctx = context();
    const asAny = PaymentTimeout as unknown as object;
    expect(() => ctx.scheduleTimeout(asAny, 100)).toThrow(InvalidEventError);
    expect(() => ctx.scheduleTimeout(asAny, 100)).toThrow(
      'scheduleTimeout(PaymentTimeout) got the class itself: pass an instance (scheduleTimeout(new PaymentTimeout(...)))',
    );
    expect(() => ctx.publish(asAny)).toThrow('publish(PaymentTimeout) got the class itself');
    expect(ctx.scheduled.size).toBe(0);
  });

  it('compensate() is seen as compensating in the step and saved as compensated, keeping earlier compensations', () => {
    const ctx = context();
    ctx.addCompensation({ destination: 'local', type: 'Release', payload: { step: 2 } });
    ctx.compensate('out of stock');
    expect(ctx.status).toBe('compensating');
    expect(ctx.savedStatus).toBe('compensated');
    expect(ctx.reason).toBe('out of stock');
    expect(ctx.compensations.map((c) => c.type)).toEqual(['Refund', 'Release']);
  });

  it('allows one ending only, and no new timeouts or compensations after it', () => {
    const ctx = context();
    ctx.complete();
    expect(ctx.finished).toBe(true);
    expect(() => ctx.fail('late')).toThrow('fail() on saga "orders" instance "o-1" which is already completed');
    expect(() => ctx.compensate('late')).toThrow(SagaStateError);
    expect(() => ctx.scheduleTimeout(new PaymentTimeout('o-1'), 1)).toThrow(SagaStateError);
    expect(() => ctx.addCompensation({ destination: 'local', type: 'X', payload: {} })).toThrow(SagaStateError);
    ctx.publish(new PaymentTimeout('o-1')); // publishing a final event after complete() is fine
    expect(ctx.published).toHaveLength(1);
  });
});

import type { Clock } from '../options/clock.js';

/**
 * A clock tests move by hand: pass it as `FlowbusOptions.clock`. Starts at the real time.
 * Moving it (`advance`, `set`) wakes the relay and the timeout scheduler of every app using it,
 * so what falls due — a saga timeout, a retry after backoff — is handled within milliseconds,
 * not at the next poll.
 *
 * @example
 * const clock = new ManualClock();
 * const app = await createApp({ clock });
 * await bus.publish(new OrderPlaced(id)); // schedules a 30-minute PaymentTimeout
 * clock.advance(30 * 60_000);
 * await waitFor(async () => (await sagas.find('order', id))?.status === 'compensated');
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly listeners = new Set<() => void>();

  constructor(start: number | Date = Date.now()) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  /** Moves the time forward by `ms` and wakes Flowbus. */
  advance(ms: number): void {
    this.current += ms;
    this.jumped();
  }

  /** Sets the time and wakes Flowbus. */
  set(time: number | Date): void {
    this.current = typeof time === 'number' ? time : time.getTime();
    this.jumped();
  }

  onJump(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private jumped(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

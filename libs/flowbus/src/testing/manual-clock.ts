import type { Clock } from '../options/clock.js';

/** A clock tests move by hand: pass it as `FlowbusOptions.clock`. Starts at the real time. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number | Date = Date.now()) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(time: number | Date): void {
    this.current = typeof time === 'number' ? time : time.getTime();
  }
}

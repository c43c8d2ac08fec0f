import { Injectable } from '@nestjs/common';

/**
 * Lets the saga engine tell the timeout scheduler that a step scheduled a timeout due before the
 * next poll, so it fires on time instead of up to one poll interval late. A hint only: the poll
 * catches anything the hint misses.
 */
@Injectable()
export class TimeoutAlarm {
  private listener: ((dueAt: Date) => void) | undefined;

  onArm(listener: (dueAt: Date) => void): void {
    this.listener = listener;
  }

  arm(dueAt: Date): void {
    this.listener?.(dueAt);
  }
}

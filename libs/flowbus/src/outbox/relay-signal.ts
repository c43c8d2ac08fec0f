import { Injectable } from '@nestjs/common';

/**
 * Wakes the relay when new rows were committed: by the outbox in this process (free) or by a
 * NOTIFY from another instance. A wake that arrives while the relay is busy is remembered, so a
 * commit racing with the end of a claim is never slept through.
 */
@Injectable()
export class RelaySignal {
  private woken = false;
  private waiter: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Resolves on the next wake (or at once if one is pending), on abort, or after `ms` if given. */
  wait(abort: AbortSignal, ms?: number): Promise<void> {
    if (this.woken || abort.aborted) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        abort.removeEventListener('abort', done);
        if (this.waiter === done) this.waiter = undefined;
        this.woken = false;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      abort.addEventListener('abort', done, { once: true });
      this.waiter = done;
    });
  }
}

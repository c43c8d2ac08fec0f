import { performance } from 'node:perf_hooks';

/** A publish watched for `bus.handlerTimeoutMs`; the list links live on the publish itself. */
export interface DeadlineEntry {
  /** `performance.now()` time at which the entry times out; `Infinity` until stamped. */
  deadline: number;
  listed: boolean;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  onDeadline(): void;
}

/** How soon after its start a still-running publish gets its deadline. */
const STAMP_DELAY_MS = 1;

/**
 * Enforces `handlerTimeoutMs` for all publishes of one bus with two timers instead of one per
 * publish. A `setTimeout` + `clearTimeout` pair per publish cost more than the rest of the
 * publish (Node creates and drops a timer list whenever the last timer of a duration goes), and
 * even reading the clock once per publish showed in profiles.
 *
 * Publishes wait in an intrusive list, appended and unlinked in O(1) without allocating; most
 * finish within microseconds and leave unseen. Those still running when the stamp timer fires,
 * 1 ms after the first of them started, get `deadline = now + timeoutMs`. So a handler is never
 * timed out before `timeoutMs`, and at most about a millisecond after a timer of its own would
 * have fired (more only if the event loop was blocked before the stamp, which delays any timer).
 * All entries share one timeout, so list order is deadline order and the deadline timer only
 * waits for the head.
 */
export class HandlerDeadlines {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  /** First entry without a deadline; every entry after it has none either. */
  private unstamped: DeadlineEntry | undefined;
  private stampTimer: NodeJS.Timeout | undefined;
  private stampArmed = false;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineArmed = false;
  private deadlineRefed = false;

  constructor(private readonly timeoutMs: number) {}

  watch(entry: DeadlineEntry): void {
    entry.deadline = Infinity;
    entry.listed = true;
    entry.previous = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.unstamped ??= entry;
    if (this.stampArmed) return;
    this.stampArmed = true;
    // Re-arming a fired timer is cheap; creating one per burst of publishes is what we avoid.
    if (this.stampTimer) this.stampTimer.refresh();
    else this.stampTimer = setTimeout(this.stamp, STAMP_DELAY_MS);
  }

  release(entry: DeadlineEntry): void {
    entry.listed = false;
    const { previous, next } = entry;
    if (previous) previous.next = next;
    else this.head = next;
    if (next) next.previous = previous;
    else this.tail = previous;
    if (this.unstamped === entry) this.unstamped = next;
    entry.previous = entry.next = undefined;
    // The deadline timer keeps the process alive only while a stamped publish waits for it, as
    // that publish's own timer did. Left armed rather than cleared: it may serve the next one.
    if (this.deadlineRefed && this.head === this.unstamped) {
      this.deadlineTimer!.unref();
      this.deadlineRefed = false;
    }
  }

  /** Drops the timers when nothing is watched, so a closed app leaves none behind. */
  dispose(): void {
    if (this.head) return;
    clearTimeout(this.stampTimer);
    clearTimeout(this.deadlineTimer);
    // A cleared timer cannot be refreshed: the next watch creates new ones.
    this.stampTimer = this.deadlineTimer = undefined;
    this.stampArmed = this.deadlineArmed = this.deadlineRefed = false;
  }

  private readonly stamp = (): void => {
    this.stampArmed = false;
    if (!this.unstamped) return;
    const deadline = performance.now() + this.timeoutMs;
    for (let entry: DeadlineEntry | undefined = this.unstamped; entry; entry = entry.next) entry.deadline = deadline;
    this.unstamped = undefined;
    // An armed deadline timer fires at or before the head's deadline (deadlines only grow).
    if (!this.deadlineArmed) this.armDeadline(this.timeoutMs);
    else if (!this.deadlineRefed) {
      this.deadlineTimer!.ref();
      this.deadlineRefed = true;
    }
  };

  private armDeadline(ms: number): void {
    this.deadlineTimer = setTimeout(this.expire, ms);
    this.deadlineArmed = this.deadlineRefed = true;
  }

  private readonly expire = (): void => {
    this.deadlineArmed = this.deadlineRefed = false;
    const now = performance.now();
    try {
      for (let entry = this.head; entry && entry.deadline <= now; entry = this.head) {
        this.release(entry);
        entry.onDeadline();
      }
    } finally {
      // Re-armed even if reporting one timeout threw, so the later ones still fire. Node's clock
      // and performance.now() may disagree by a fraction of a millisecond.
      const head = this.head;
      if (head && head !== this.unstamped) this.armDeadline(Math.max(1, Math.ceil(head.deadline - now)));
    }
  };
}

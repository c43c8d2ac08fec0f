import type { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { describeError } from '../errors/handler-failures.error.js';
import type { Clock } from '../options/clock.js';
import { renewCursors, type CursorLease } from '../outbox/log.queries.js';

/**
 * Keeps the leases of a subscriber's cursors while the log relay delivers their batches (issue
 * 12). Without it a batch that takes longer than `leaseMs` (a backlog, a slow destination) loses
 * its cursors to another relay, which delivers it all again. Every record of the batch (progress
 * or advance) extends the leases already; the keeper renews them only when a quarter lease passed
 * without one (a page that takes long), so a batch of fast pages costs no extra round trip.
 * A renewal fenced off (taken over) sets `lost`: the batch starts no new page and records nothing.
 *
 * A page in flight gets `leaseMs` from its start, like a row the claim loop leases on the table
 * storage: renewals while it delivers extend the leases to at most its start + leaseMs. A relay
 * whose page hangs (a destination that never answers, a process frozen mid-batch) keeps its
 * cursors no longer than that, and another relay takes them over and delivers the page again.
 * @internal
 */
export class LeaseKeeper {
  /** Some cursor was taken over by another relay: stop delivering, record nothing. */
  lost = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  /** A record is under way (see hold): no renewal until it is done. */
  private holding = false;
  /** Clock time past which the page in flight gets no renewal (see pageStarted). */
  private pageDeadline: number;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly owner: string,
    private readonly subscriber: string,
    private readonly leases: readonly CursorLease[],
    private readonly leaseMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.pageDeadline = clock.now() + leaseMs;
    this.schedule();
  }

  /** A page's deliveries start: they keep the leases for up to `leaseMs`. */
  pageStarted(): void {
    this.pageDeadline = this.clock.now() + this.leaseMs;
  }

  /**
   * Waits for a renewal in flight and holds the next one: a record updates the same cursor rows,
   * and two multi-row UPDATEs of them at once could deadlock. Call `extended()` afterwards.
   */
  async hold(): Promise<void> {
    this.holding = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.renewing;
  }

  /** A record extended the leases (or failed): the next renewal is a quarter lease from now. */
  extended(): void {
    this.holding = false;
    this.schedule();
  }

  /** The batches are done (or given up): no more renewals. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.hold();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped || this.lost || this.holding) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.renewing = this.renew().finally(() => (this.renewing = undefined));
    }, this.leaseMs / 4);
    // A pending renewal never keeps the process alive.
    this.timer.unref?.();
  }

  private async renew(): Promise<void> {
    try {
      const now = this.clock.now();
      // The page in flight has had its lease: it is left to expire (see the class comment).
      if (now >= this.pageDeadline) return this.schedule();
      const until = new Date(Math.min(now + this.leaseMs, this.pageDeadline));
      const { rows } = await this.pool.query(
        renewCursors(this.schema, { subscriber: this.subscriber, owner: this.owner, leases: this.leases, until }),
      );
      if (rows.length < this.leases.length) {
        this.lost = true;
        this.logger.warn(
          `${this.leases.length - rows.length} cursor(s) of ${this.subscriber} were taken over mid-batch; ` +
            'this relay stops delivering their batch',
        );
        return;
      }
    } catch (error) {
      // Tried again a quarter lease later: three more tries before the lease runs out.
      this.logger.warn(`Could not renew the leases of ${this.subscriber}: ${describeError(error)}`);
    }
    this.schedule();
  }
}

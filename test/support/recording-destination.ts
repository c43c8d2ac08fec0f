import type { DeliveryMessage, Destination } from 'nestjs-flowbus';

/**
 * A user-defined destination (the documented extension point) that records what it receives and
 * fails on demand: the receiving side of a test.
 */
export class RecordingDestination implements Destination {
  readonly received: DeliveryMessage[] = [];
  /** Return an error to fail this delivery, undefined to accept it. */
  failWith: (message: DeliveryMessage) => Error | undefined = () => undefined;
  delayMs = 0;

  constructor(readonly overrides: Partial<Pick<Destination, 'maxAttempts' | 'backoff' | 'circuitBreaker'>> = {}) {
    Object.assign(this, overrides);
  }

  async deliver(message: DeliveryMessage): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const error = this.failWith(message);
    if (error) throw error;
    this.received.push(message);
  }

  ids(): string[] {
    return this.received.map((m) => m.id);
  }
}

/**
 * Lets at most `limit` transactions run at once; the others wait their turn, first come first
 * served. Used where many transactions could start together on the app's pool, so that some
 * connections stay free for the relay's own short statements (leases, progress, ticks).
 */
export class TransactionSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot goes straight to the next in line, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

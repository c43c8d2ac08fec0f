/**
 * Acknowledges the messages of one AMQP channel in as few frames as it can. Acks asked for in one
 * turn of the event loop (a stored batch acks all its messages at once) are sent together: the
 * run of the oldest outstanding deliveries that are all settled is acked with one `multiple` ack
 * of its last acked delivery tag, any acked message after a gap alone. Each ack is a frame that
 * the client encodes and writes and the broker processes: one per message cost about as much
 * as the broker's whole delivery of it.
 *
 * A `multiple` ack covers every unacked tag up to it on the channel, so it is only sent when no
 * older delivery is still held: one still waiting for its batch, or one that will be rejected.
 * Rejections (`settled` without an ack) are sent by the caller at once, so the broker no longer
 * counts them as unacked when a later `multiple` ack passes over them.
 */
export class AmqpAcks<M> {
  /** Delivery tags in delivery order, from `head` on: not yet passed by a `multiple` ack. */
  private outstanding: number[] = [];
  private head = 0;
  /** Tags settled here (acked or rejected) that `outstanding` still holds. */
  private readonly settledTags = new Set<number>();
  /** Acks asked for and not sent yet, by tag. */
  private readonly waiting = new Map<number, M>();
  private scheduled = false;

  /**
   * @param send sends one ack frame (`multiple`: every unacked tag up to the message's); it must not
   *   throw: it runs in a microtask
   */
  constructor(
    private readonly send: (message: M, multiple: boolean) => void,
    private readonly tagOf: (message: M) => number,
  ) {}

  /** A delivery from the broker (tags grow on a channel). */
  delivered(message: M): void {
    this.outstanding.push(this.tagOf(message));
  }

  /** Acks `message` before the event loop turns again. */
  ack(message: M): void {
    const tag = this.tagOf(message);
    this.settledTags.add(tag);
    this.waiting.set(tag, message);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** `message` was rejected (the caller sent that already): later multiple acks may pass it. */
  rejected(message: M): void {
    this.settledTags.add(this.tagOf(message));
  }

  /** Sends the acks asked for. */
  flush(): void {
    this.scheduled = false;
    if (this.waiting.size === 0) return;
    let last: M | undefined;
    while (this.head < this.outstanding.length) {
      const tag = this.outstanding[this.head]!;
      if (!this.settledTags.has(tag)) break;
      this.settledTags.delete(tag);
      const message = this.waiting.get(tag);
      if (message !== undefined) {
        this.waiting.delete(tag);
        last = message;
      }
      this.head++;
    }
    if (last !== undefined) this.send(last, true);
    // Behind a delivery still held: alone (they stay in `outstanding`, settled, until it is).
    for (const message of this.waiting.values()) this.send(message, false);
    this.waiting.clear();
    if (this.head > 1024 && this.head * 2 > this.outstanding.length) {
      this.outstanding = this.outstanding.slice(this.head);
      this.head = 0;
    }
  }
}

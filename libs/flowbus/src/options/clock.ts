/** Source of the current time, in epoch milliseconds. Tests inject one they can move. */
export interface Clock {
  now(): number;
  /**
   * Optional: lets Flowbus hear when the time jumps (a manual clock moved), so its relay and
   * timeout scheduler look for due work at once instead of at their next poll. Calls `listener`
   * after each jump; returns a function that unsubscribes. `ManualClock` implements it.
   */
  onJump?(listener: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

import { describe, expect, it } from '@jest/globals';
import { TransactionSlots } from './transaction-slots.js';

describe('TransactionSlots', () => {
  it('runs at most limit at once, the rest in the order they came, and passes results and errors on', async () => {
    const slots = new TransactionSlots(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (n: number) =>
      slots.run(async () => {
        started.push(n);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (n === 3) throw new Error('three');
        return n;
      });
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(task));
    expect(most).toBe(2);
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      1,
      2,
      'three',
      4,
      5,
      6,
    ]);
    // Every slot was given back: a limit's worth run at once again.
    running = 0;
    most = 0;
    await Promise.all([7, 8].map(task));
    expect(most).toBe(2);
  });
});

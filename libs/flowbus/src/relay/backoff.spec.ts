import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from './backoff.js';

const policy = { initialMs: 1000, factor: 2, maxMs: 60_000, jitter: 'none' as const };

describe('backoffDelay', () => {
  it('grows exponentially from initialMs by factor', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, policy))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('is capped at maxMs, even for huge attempt numbers', () => {
    expect(backoffDelay(7, policy)).toBe(60_000);
    expect(backoffDelay(5000, policy)).toBe(60_000);
  });

  it('full jitter spreads uniformly over [0, delay]', () => {
    const full = { ...policy, jitter: 'full' as const };
    expect(backoffDelay(3, full, () => 0)).toBe(0);
    expect(backoffDelay(3, full, () => 0.5)).toBe(2000);
    expect(backoffDelay(3, full, () => 0.999999)).toBe(3999);
  });

  it('equal jitter stays within [delay/2, delay]', () => {
    const equal = { ...policy, jitter: 'equal' as const };
    expect(backoffDelay(3, equal, () => 0)).toBe(2000);
    expect(backoffDelay(3, equal, () => 0.999999)).toBe(3999);
  });

  it('treats attempt 0 like the first retry and factor 1 as constant delay', () => {
    expect(backoffDelay(0, policy)).toBe(1000);
    expect(backoffDelay(9, { ...policy, factor: 1 })).toBe(1000);
  });

  it('stays within bounds for random draws', () => {
    const full = { ...policy, jitter: 'full' as const };
    for (let attempt = 1; attempt < 20; attempt++) {
      const d = backoffDelay(attempt, full);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(60_000, 1000 * 2 ** (attempt - 1)));
    }
  });
});

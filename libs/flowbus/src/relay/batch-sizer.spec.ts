import { describe, expect, it } from '@jest/globals';
import { BATCH_FIRST, BATCH_MAX, BATCH_MIN, BatchSizer } from './batch-sizer.js';

describe('BatchSizer', () => {
  it('starts every subscriber at the first size, each on its own', () => {
    const sizer = new BatchSizer();
    sizer.record('fast', 100, 1);
    expect(sizer.size('fast')).toBe(BATCH_MAX);
    expect(sizer.size('other')).toBe(BATCH_FIRST);
  });

  it('gives a cheap handler large batches and a slow one small batches, within the bounds', () => {
    const sizer = new BatchSizer();
    sizer.record('noop', 100, 2); // 20 µs a delivery
    sizer.record('one-ms', 100, 100); // 1 ms a delivery: 50 fit the 50 ms budget
    sizer.record('slow', 100, 10_000); // 100 ms a delivery
    expect(sizer.size('noop')).toBe(BATCH_MAX);
    expect(sizer.size('one-ms')).toBe(50);
    expect(sizer.size('slow')).toBe(BATCH_MIN);
  });

  it('follows a handler that slows down, smoothing one outlier', () => {
    const sizer = new BatchSizer();
    sizer.record('h', 100, 100); // 1 ms
    sizer.record('h', 10, 100); // one batch at 10 ms a delivery
    expect(sizer.size('h')).toBeGreaterThan(BATCH_MIN);
    expect(sizer.size('h')).toBeLessThan(50);
    for (let i = 0; i < 20; i++) sizer.record('h', 10, 100);
    expect(sizer.size('h')).toBe(BATCH_MIN); // 10 ms a delivery: 5 fit, at least BATCH_MIN run together
  });

  it('ignores empty batches and unusable times', () => {
    const sizer = new BatchSizer();
    sizer.record('h', 0, 10);
    sizer.record('h', 10, Number.NaN);
    expect(sizer.size('h')).toBe(BATCH_FIRST);
    sizer.record('h', 10, 0);
    expect(sizer.size('h')).toBe(BATCH_MAX);
  });
});

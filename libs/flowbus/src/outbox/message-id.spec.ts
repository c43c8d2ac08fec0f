import { describe, expect, it } from '@jest/globals';
import { messageId } from './message-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('messageId', () => {
  it('is a version 7 UUID carrying the millisecond time in its first 48 bits', () => {
    const at = Date.UTC(2026, 10, 26, 12, 0, 0, 123);
    const id = messageId(at);
    expect(id).toMatch(V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
  });

  it('sorts by time across milliseconds, and never repeats', () => {
    const base = Date.now();
    const ids = Array.from({ length: 5000 }, (_, i) => messageId(base + Math.floor(i / 10)));
    for (let i = 10; i < ids.length; i += 10) expect(ids[i - 10]! < ids[i]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => V7.test(id))).toBe(true);
  });
});

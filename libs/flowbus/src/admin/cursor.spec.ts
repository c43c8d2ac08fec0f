import { describe, expect, it } from '@jest/globals';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('page cursors', () => {
  it('round-trip a seq, as an opaque base64url string', () => {
    const cursor = encodeCursor('outbox', '9223372036854775807');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain('9223');
    expect(decodeCursor('outbox', cursor)).toBe('9223372036854775807');
  });

  it('refuse a cursor of another list', () => {
    expect(decodeCursor('sagas', encodeCursor('outbox', '12'))).toBeUndefined();
    expect(decodeCursor('dead-letters', encodeCursor('dead-letters', '12'))).toBe('12');
    // The outbox's retry rows (log storage) page on another sequence: their cursors are their own.
    expect(decodeCursor('outbox', encodeCursor('outbox-retries', '12'))).toBeUndefined();
    expect(decodeCursor('outbox-retries', encodeCursor('outbox-retries', '12'))).toBe('12');
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['empty', ''],
    ['too long', 'A'.repeat(65)],
    ['no prefix', Buffer.from('12').toString('base64url')],
    ['not a number', Buffer.from('o:abc').toString('base64url')],
    ['negative', Buffer.from('o:-1').toString('base64url')],
    ['zero', Buffer.from('o:0').toString('base64url')],
    ['leading zero', Buffer.from('o:012').toString('base64url')],
    ['beyond bigint', Buffer.from('o:9223372036854775808').toString('base64url')],
    ['trailing SQL', Buffer.from('o:1 OR 1=1').toString('base64url')],
  ])('refuse a malformed cursor: %s', (_name, cursor) => {
    expect(decodeCursor('outbox', cursor)).toBeUndefined();
  });
});

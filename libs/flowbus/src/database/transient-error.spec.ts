import { describe, expect, it } from '@jest/globals';
import { isTransientDatabaseError } from './transient-error.js';

describe('isTransientDatabaseError', () => {
  it('retries socket failures and server-side connection, resource and shutdown errors', () => {
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('shutdown'), { code: '57P01' }))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('too many'), { code: '53300' }))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('deadlock'), { code: '40P01' }))).toBe(true);
  });

  it('does not retry a statement the server rejected', () => {
    expect(isTransientDatabaseError(Object.assign(new Error('bad bytes'), { code: '22021' }))).toBe(false);
    expect(isTransientDatabaseError(Object.assign(new Error('unique'), { code: '23505' }))).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { closestName } from './closest-name.js';

describe('closestName', () => {
  it('suggests the known name a typo came from', () => {
    expect(closestName('Knwon', ['Known', 'OrderPlaced'])).toBe('Known');
    expect(closestName('orderplaced', ['OrderPlaced', 'OrderPaid'])).toBe('OrderPlaced');
    expect(closestName('OrderPlaced2', ['OrderPlaced', 'OrderPaid'])).toBe('OrderPlaced');
  });

  it('suggests nothing for a name unlike any known one', () => {
    expect(closestName('Refund', ['OrderPlaced', 'PaymentSucceeded'])).toBeUndefined();
    expect(closestName('X', [])).toBeUndefined();
  });
});

import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from '@jest/globals';
import { SubscriberNamePipe } from './subscriber-name.pipe.js';

describe('SubscriberNamePipe', () => {
  const pipe = new SubscriberNamePipe();
  const meta = { type: 'param' as const, data: 'name' };

  it.each(['local:audit', 'local:saga:order-fulfillment', 'destination:billing', 'destination:a b'])(
    'accepts %s as it is',
    (name) => {
      expect(pipe.transform(name, meta)).toBe(name);
    },
  );

  it.each([
    ['no prefix', 'audit', /local:<subscriber> or destination:<name>/],
    ['prefix only', 'local:', /local:<subscriber>/],
    ['unknown prefix', 'queue:x', /local:<subscriber>/],
    ['empty', '', /1 to 500/],
    ['too long', `local:${'x'.repeat(500)}`, /1 to 500/],
    ['NUL', 'local:a\u0000b', /NUL/],
  ])('refuses %s with a 400 naming the parameter', (_case, name, message) => {
    expect(() => pipe.transform(name, meta)).toThrow(BadRequestException);
    expect(() => pipe.transform(name, meta)).toThrow(message);
  });
});

import { describe, expect, it, jest } from '@jest/globals';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';

// As if class-transformer were not installed (it is an optional peer).
jest.unstable_mockModule('class-transformer', () => {
  throw Object.assign(new Error("Cannot find package 'class-transformer'"), { code: 'ERR_MODULE_NOT_FOUND' });
});
const { PayloadCodec } = await import('./payload-codec.js');

class Stamp {
  at!: Date;
  label() {
    return 'stamp';
  }
}

describe('PayloadCodec without class-transformer', () => {
  it('falls back to the class prototype with the stored fields, and passes non-objects through', async () => {
    await expect(import('class-transformer')).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
    const codec = new PayloadCodec({ serializer: {} } as ResolvedOptions);
    await codec.onModuleInit();
    const stamp = codec.revive(Stamp, { at: '2026-01-02T03:04:05.000Z' }) as Stamp;
    expect(stamp).toBeInstanceOf(Stamp);
    expect(stamp.label()).toBe('stamp');
    expect(stamp.at).toBe('2026-01-02T03:04:05.000Z'); // documented: Dates stay strings without it
    expect(codec.revive(Stamp, 'text')).toBe('text');
    expect(codec.revive(Stamp, [1, 2])).toEqual([1, 2]);
    expect(codec.revive(Stamp, null)).toBeNull();
    expect(codec.revive(undefined, { a: 1 })).toEqual({ a: 1 });
  });
});

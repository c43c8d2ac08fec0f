import { describe, expect, it } from '@jest/globals';
import type { CanActivate } from '@nestjs/common';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { mountOf, resolveAdminOptions } from './resolve-admin-options.js';

class SomeGuard implements CanActivate {
  canActivate() {
    return true;
  }
}
const TOKEN = '0123456789abcdef';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error.field;
    throw error;
  }
  return 'no error';
}

describe('admin options', () => {
  it('defaults the path and keeps the guard or token', () => {
    expect(resolveAdminOptions({ token: TOKEN })).toEqual({ path: 'flowbus', guard: undefined, token: TOKEN });
    expect(resolveAdminOptions({ guard: SomeGuard, path: 'ops/flowbus' })).toEqual({
      path: 'ops/flowbus',
      guard: SomeGuard,
      token: undefined,
    });
    expect(resolveAdminOptions({ path: 'ops' }, { token: TOKEN })).toEqual({
      path: 'ops',
      guard: undefined,
      token: TOKEN,
    });
  });

  it('mounts at the given path, or the default one', () => {
    expect(mountOf({ path: 'ops', guard: SomeGuard })).toEqual({ path: 'ops', guard: SomeGuard });
    expect(mountOf(undefined)).toEqual({ path: 'flowbus', guard: undefined });
  });

  it('names the field it refuses', () => {
    expect(fieldOf(() => resolveAdminOptions({}))).toBe('admin.token');
    expect(fieldOf(() => resolveAdminOptions(undefined))).toBe('admin.token');
    expect(fieldOf(() => resolveAdminOptions({ token: 'short' }))).toBe('admin.token');
    expect(fieldOf(() => resolveAdminOptions({ token: TOKEN, path: '../x' }))).toBe('admin.path');
    expect(fieldOf(() => resolveAdminOptions({ guard: 'nope' }))).toBe('admin.guard');
    expect(fieldOf(() => resolveAdminOptions({ tokn: TOKEN }))).toBe('admin.tokn');
    expect(fieldOf(() => resolveAdminOptions({}, { token: undefined }))).toBe('admin.token');
    expect(fieldOf(() => resolveAdminOptions({}, { token: TOKEN, path: 'x' }))).toBe('admin.path');
    expect(fieldOf(() => resolveAdminOptions({}, { token: TOKEN, guard: SomeGuard }))).toBe('admin.guard');
    expect(fieldOf(() => resolveAdminOptions({ guard: SomeGuard }, {}))).toBe('no error');
  });
});

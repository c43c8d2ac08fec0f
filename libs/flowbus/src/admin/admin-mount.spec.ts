import { describe, expect, it } from '@jest/globals';
import type { CanActivate } from '@nestjs/common';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { applyAdminMount, mountOfAsync, mountOfOptions } from './admin-mount.js';

class SomeGuard implements CanActivate {
  canActivate() {
    return true;
  }
}
class OtherGuard extends SomeGuard {}

describe('admin mount', () => {
  it('forRoot mounts only when enabled is true, at the default path unless given', () => {
    expect(mountOfOptions(undefined)).toBeUndefined();
    expect(mountOfOptions({ enabled: false, token: 'x' })).toBeUndefined();
    expect(mountOfOptions({ enabled: true, token: 'x' })).toEqual({ path: 'flowbus', guard: undefined });
    expect(mountOfOptions({ enabled: true, path: 'ops', guard: SomeGuard })).toEqual({ path: 'ops', guard: SomeGuard });
  });

  it('forRootAsync mounts whenever admin is given', () => {
    expect(mountOfAsync(undefined)).toBeUndefined();
    expect(mountOfAsync({})).toEqual({ path: 'flowbus', guard: undefined });
  });

  it('gives the factory options the mount path and guard', () => {
    expect(applyAdminMount({ admin: { enabled: true, token: 't' } }, { path: 'ops', guard: SomeGuard })).toEqual({
      admin: { enabled: true, token: 't', path: 'ops', guard: SomeGuard },
    });
    expect(applyAdminMount({}, { path: 'ops' })).toEqual({ admin: { path: 'ops', guard: undefined } });
    expect(applyAdminMount({ schema: 's' }, undefined)).toEqual({ schema: 's' });
  });

  it('refuses a factory that enables an unmounted admin API, or moves it, or swaps its guard', () => {
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error instanceof InvalidOptionsError ? error.field : error;
      }
      return 'no error';
    };
    expect(attempt(() => applyAdminMount({ admin: { enabled: true, token: 't' } }, undefined))).toBe('admin.enabled');
    expect(attempt(() => applyAdminMount({ admin: { path: 'b' } }, { path: 'a' }))).toBe('admin.path');
    expect(attempt(() => applyAdminMount({ admin: { guard: OtherGuard } }, { path: 'a', guard: SomeGuard }))).toBe(
      'admin.guard',
    );
    expect(
      attempt(() => applyAdminMount({ admin: { path: 'a', guard: SomeGuard } }, { path: 'a', guard: SomeGuard })),
    ).toBe('no error');
  });
});

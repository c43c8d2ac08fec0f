import type { CanActivate, Type } from '@nestjs/common';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { onlyKnownKeys, section, str } from '../options/option-readers.js';
import { DEFAULT_ADMIN_PATH } from './admin.constants.js';
import type { ResolvedAdminOptions } from './admin-options.interface.js';

const ADMIN_PATH = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** Where the routes are registered and behind which guard: known when the module is defined. */
export interface AdminMount {
  readonly path: string;
  readonly guard?: Type<CanActivate>;
}

/** The mount of the given static options (validated later, at bootstrap, by `resolveAdminOptions`). */
export function mountOf(options: { path?: unknown; guard?: unknown } | undefined): AdminMount {
  const path = typeof options?.path === 'string' ? options.path : DEFAULT_ADMIN_PATH;
  const guard = typeof options?.guard === 'function' ? (options.guard as Type<CanActivate>) : undefined;
  return { path, guard };
}

/**
 * Validates the admin options at bootstrap, failing with an `InvalidOptionsError` naming the
 * field (`admin.<field>`). `statics` are `forRoot`'s options, or `forRootAsync`'s `path` and
 * `guard`; `fromFactory` is what `forRootAsync`'s factory returned (only a token).
 */
export function resolveAdminOptions(statics: unknown, fromFactory?: unknown): ResolvedAdminOptions {
  const s = section(statics, 'admin');
  onlyKnownKeys(s, 'admin', ['path', 'guard', 'token']);
  let token = s.token;
  if (fromFactory !== undefined) {
    const f = section(fromFactory, 'admin');
    for (const key of ['path', 'guard']) {
      if (key in f) {
        throw new InvalidOptionsError(
          `admin.${key}`,
          `cannot come from the forRootAsync factory (routes are registered before it runs): pass it to forRootAsync next to useFactory`,
        );
      }
    }
    onlyKnownKeys(f, 'admin', ['token']);
    token = f.token;
  }
  if (s.guard !== undefined && typeof s.guard !== 'function') {
    throw new InvalidOptionsError('admin.guard', 'must be a guard class (implements CanActivate)');
  }
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    throw new InvalidOptionsError('admin.token', 'must be a string of at least 16 characters');
  }
  if (s.guard === undefined && token === undefined) {
    throw new InvalidOptionsError(
      'admin.token',
      'FlowbusAdminModule needs a "guard" or a "token": refusing to expose the admin API unprotected',
    );
  }
  return {
    path: str(s.path, 'admin.path', DEFAULT_ADMIN_PATH, ADMIN_PATH),
    guard: s.guard as Type<CanActivate> | undefined,
    token: token as string | undefined,
  };
}

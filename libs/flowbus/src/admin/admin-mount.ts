import type { CanActivate, Type } from '@nestjs/common';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { AdminOptions, FlowbusOptions } from '../options/flowbus-options.interface.js';

/** Injection token of the mount the admin controllers were registered with. */
export const FLOWBUS_ADMIN_MOUNT = Symbol('FLOWBUS_ADMIN_MOUNT');

export const DEFAULT_ADMIN_PATH = 'flowbus';

/**
 * Where the admin controllers are registered and behind which guard. Controllers and guards are
 * decorator metadata, fixed when the module is defined: before `forRootAsync`'s factory runs.
 */
export interface AdminMount {
  readonly path: string;
  readonly guard?: Type<CanActivate>;
}

/**
 * The admin part of `forRootAsync` that must be known statically. Its presence registers the
 * admin routes; whether they answer is decided by `admin.enabled` from the factory (404 while
 * false), and the factory gives the token.
 *
 * @example
 * FlowbusModule.forRootAsync({
 *   admin: { path: 'ops/flowbus' },
 *   inject: [ConfigService],
 *   useFactory: (c: ConfigService) => ({ admin: { enabled: true, token: c.get('FLOWBUS_ADMIN_TOKEN') } }),
 * })
 */
export type AdminAsyncOptions = Pick<AdminOptions, 'path' | 'guard'>;

/** The mount `forRoot` registers: only when `admin.enabled` is true. */
export function mountOfOptions(admin: AdminOptions | undefined): AdminMount | undefined {
  if (typeof admin !== 'object' || admin === null || admin.enabled !== true) return undefined;
  return { path: admin.path ?? DEFAULT_ADMIN_PATH, guard: admin.guard };
}

/** The mount `forRootAsync` registers: whenever `admin` is given next to the factory. */
export function mountOfAsync(admin: AdminAsyncOptions | undefined): AdminMount | undefined {
  if (admin === undefined) return undefined;
  return { path: admin.path ?? DEFAULT_ADMIN_PATH, guard: admin.guard };
}

/**
 * Reconciles the options (from `forRoot`, or from `forRootAsync`'s factory) with the registered
 * mount before they are resolved: the factory cannot move the routes or change their guard, and
 * cannot enable an admin API whose routes were never registered.
 */
export function applyAdminMount(
  options: FlowbusOptions | undefined,
  mount: AdminMount | undefined,
): FlowbusOptions | undefined {
  const admin = options?.admin;
  // Not an object: resolveOptions reports it with the field's name.
  if (typeof admin !== 'object' || admin === null) {
    if (mount === undefined) return options;
    return { ...options, admin: { path: mount.path, guard: mount.guard } };
  }
  if (mount === undefined) {
    if (admin.enabled === true) {
      throw new InvalidOptionsError(
        'admin.enabled',
        'forRootAsync registers routes before its factory runs: pass `admin: { path?, guard? }` to forRootAsync itself (next to useFactory) to mount the admin API',
      );
    }
    return options;
  }
  if (admin.path !== undefined && admin.path !== mount.path) {
    throw new InvalidOptionsError(
      'admin.path',
      `is "${String(admin.path)}" but the admin routes are registered at "${mount.path}"; set the path in forRootAsync({ admin: { path } })`,
    );
  }
  if (admin.guard !== undefined && admin.guard !== mount.guard) {
    throw new InvalidOptionsError(
      'admin.guard',
      'differs from the guard the admin routes are registered with; set it in forRootAsync({ admin: { guard } })',
    );
  }
  return { ...options, admin: { ...admin, path: mount.path, guard: mount.guard } };
}

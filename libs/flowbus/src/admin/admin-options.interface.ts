import type { CanActivate, InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';

/** Options of `FlowbusAdminModule.forRoot`: a guard or a token is required. */
export interface FlowbusAdminOptions {
  /** Route prefix of the admin API and dashboard. @default 'flowbus' */
  path?: string;
  /** Guard protecting every admin API route; resolved with its dependencies like any `@UseGuards` guard. */
  guard?: Type<CanActivate>;
  /** Bearer token accepted when no guard is given (at least 16 characters, compared in constant time). */
  token?: string;
}

/**
 * Options of `FlowbusAdminModule.forRootAsync`. `path` and `guard` shape the routes, which are
 * registered before any factory runs, so they are given here; the factory gives the token.
 *
 * @example
 * FlowbusAdminModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ token: config.getOrThrow('FLOWBUS_ADMIN_TOKEN') }),
 * })
 */
export interface FlowbusAdminAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Route prefix of the admin API and dashboard. @default 'flowbus' */
  path?: string;
  /** Guard protecting every admin API route (then the factory need not give a token). */
  guard?: Type<CanActivate>;
  /** Providers passed to `useFactory`. */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Gives the bearer token, e.g. from configuration. */
  // Its arguments are the `inject` providers, of any type (as in Nest's own async options).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => FlowbusAdminFactoryOptions | Promise<FlowbusAdminFactoryOptions>;
}

/** What `forRootAsync`'s factory returns. */
export type FlowbusAdminFactoryOptions = Pick<FlowbusAdminOptions, 'token'>;

/** The admin options after validation (internal). */
export interface ResolvedAdminOptions {
  readonly path: string;
  readonly guard?: Type<CanActivate>;
  readonly token?: string;
}

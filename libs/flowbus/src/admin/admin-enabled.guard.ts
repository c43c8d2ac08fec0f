import { Inject, Injectable, NotFoundException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';

/**
 * Answers every admin route as absent (the 404 Nest gives an unknown route) while
 * `admin.enabled` is false. Only reachable through `forRootAsync`, which registers the routes
 * before its factory decides whether the admin API is on.
 */
@Injectable()
export class AdminEnabledGuard implements CanActivate {
  constructor(@Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.options.admin.enabled) return true;
    const request = context.switchToHttp().getRequest<{ method?: string; originalUrl?: string; url?: string }>();
    throw new NotFoundException(
      `Cannot ${request.method ?? 'GET'} ${(request.originalUrl ?? request.url ?? '').split('?')[0]}`,
    );
  }
}

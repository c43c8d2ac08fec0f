import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ResolvedAdminOptions } from './admin-options.interface.js';
import { FLOWBUS_ADMIN_OPTIONS } from './admin.constants.js';

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Admits a request carrying `Authorization: Bearer <admin.token>`. Used when no `guard`
 * is configured. Both sides are hashed first so `timingSafeEqual` compares equal-length buffers
 * and the time taken says nothing about the token's length or content.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private expected: Buffer | undefined;

  constructor(@Inject(FLOWBUS_ADMIN_OPTIONS) private readonly options: ResolvedAdminOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const token = this.options.token;
    const header = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers.authorization;
    const given = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (given === undefined) {
      throw new UnauthorizedException('Missing credentials: send "Authorization: Bearer <admin token>"');
    }
    if (token === undefined) throw new UnauthorizedException('Invalid bearer token');
    this.expected ??= digest(token);
    if (!timingSafeEqual(digest(given), this.expected)) throw new UnauthorizedException('Invalid bearer token');
    return true;
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Admits a request carrying `Authorization: Bearer <admin.token>`. Used when no `admin.guard`
 * is configured. Both sides are hashed first so `timingSafeEqual` compares equal-length buffers
 * and the time taken says nothing about the token's length or content.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private expected: Buffer | undefined;

  constructor(@Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const token = this.options.admin.token;
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

import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DEMO_OPTIONS, type ResolvedDemoOptions } from '../demo-options.js';

/**
 * Webhooks are public URLs: this one only accepts the bearer token the relay's `shipping`
 * destination sends (`httpDestination({ headers: { Authorization } })`). A 401 is not retried:
 * a misconfigured relay dead-letters the message at once, with the reason.
 */
@Injectable()
export class WebhookAuthGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(DEMO_OPTIONS) options: ResolvedDemoOptions) {
    this.expected = digest(`Bearer ${options.webhookSecret}`);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<IncomingMessage>().headers.authorization ?? '';
    if (!timingSafeEqual(digest(header), this.expected)) {
      throw new UnauthorizedException('This webhook only accepts the Flowbus relay (bearer token)');
    }
    return true;
  }
}

/** Equal-length digests: the comparison takes the same time whatever was sent. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

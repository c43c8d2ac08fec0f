import { BadRequestException, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';

/** A subscriber as `GET /stats` lists it: `local:<durable subscriber>` or `destination:<name>`. */
const SUBSCRIBER = /^(local|destination):./s;

/** Validates a subscriber name route parameter: 1..500 characters, no NUL, `local:` or `destination:` prefix. */
@Injectable()
export class SubscriberNamePipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    const name = metadata.data ?? 'name';
    if (typeof value !== 'string' || value.length === 0 || value.length > 500) {
      throw new BadRequestException(`${name} must be 1 to 500 characters long`);
    }
    if (value.includes('\u0000')) throw new BadRequestException(`${name} must not contain NUL characters`);
    if (!SUBSCRIBER.test(value)) {
      throw new BadRequestException(
        `${name} must be a subscriber as GET /stats lists it: local:<subscriber> or destination:<name>`,
      );
    }
    return value;
  }
}

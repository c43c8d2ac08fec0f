import { BadRequestException, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';

/** Validates a free-text route parameter (saga name, correlation id): 1..500 characters, no NUL. */
@Injectable()
export class TextParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    const name = metadata.data ?? 'parameter';
    if (typeof value !== 'string' || value.length === 0 || value.length > 500) {
      throw new BadRequestException(`${name} must be 1 to 500 characters long`);
    }
    if (value.includes('\u0000')) throw new BadRequestException(`${name} must not contain NUL characters`);
    return value;
  }
}

import { BadRequestException, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';

/**
 * Any 8-4-4-4-12 hex UUID, as `OutboxService.enqueue` accepts for `id` and PostgreSQL's uuid
 * type stores. Nest's ParseUUIDPipe is stricter (RFC version and variant digits) and would
 * answer 400 for ids the outbox holds.
 */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Validates a UUID route parameter, naming it in the 400. */
@Injectable()
export class MessageIdPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (typeof value !== 'string' || !UUID.test(value)) {
      throw new BadRequestException(`${metadata.data ?? 'id'} must be a UUID`);
    }
    return value.toLowerCase();
  }
}

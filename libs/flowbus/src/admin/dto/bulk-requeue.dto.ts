import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, Matches } from 'class-validator';
import { BULK_REQUEUE_MAX } from '../admin.queries.js';
import { UUID } from '../message-id.pipe.js';
import { IsAbsentOr, TextFilter } from './query-fields.decorator.js';

/**
 * Body of `POST /dead-letters/requeue`: either `ids`, or a filter with at least one of
 * `destination` and `type` (an empty filter is refused rather than read as "everything").
 */
export class BulkRequeueDto {
  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    minItems: 1,
    maxItems: BULK_REQUEUE_MAX,
    description: 'Dead letters to requeue',
  })
  @IsAbsentOr()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(BULK_REQUEUE_MAX)
  @Matches(UUID, { each: true, message: 'each value in ids must be a UUID' })
  ids?: string[];

  @TextFilter(`Requeue dead letters of this destination (up to ${BULK_REQUEUE_MAX} per call)`)
  destination?: string;

  @TextFilter(`Requeue dead letters of this type (up to ${BULK_REQUEUE_MAX} per call)`)
  type?: string;
}

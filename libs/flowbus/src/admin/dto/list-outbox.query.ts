import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { OUTBOX_STATUSES, type OutboxStatus } from '../admin.queries.js';
import { DEFAULT_LIMIT, PageCursor, PageLimit, TextFilter } from './query-fields.decorator.js';

/** Query of `GET /outbox`. */
export class ListOutboxQuery {
  @ApiPropertyOptional({
    enum: OUTBOX_STATUSES,
    description: 'pending: not delivered and not leased; in-flight: leased by a relay; delivered',
  })
  @IsOptional()
  @IsIn(OUTBOX_STATUSES, { message: `status must be one of: ${OUTBOX_STATUSES.join(', ')}` })
  status?: OutboxStatus;

  @TextFilter('Destination name (exact)')
  destination?: string;

  @TextFilter('Message type (exact)')
  type?: string;

  @PageLimit()
  limit: number = DEFAULT_LIMIT;

  @PageCursor('outbox', 'outbox-retries')
  cursor?: string;
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { SAGA_STATUSES, type SagaStatus } from '../admin.queries.js';
import { DEFAULT_LIMIT, PageCursor, PageLimit, TextFilter } from './query-fields.decorator.js';

/** Query of `GET /sagas`. */
export class ListSagasQuery {
  @TextFilter('Saga name (exact)')
  name?: string;

  @ApiPropertyOptional({ enum: SAGA_STATUSES })
  @IsOptional()
  @IsIn(SAGA_STATUSES, { message: `status must be one of: ${SAGA_STATUSES.join(', ')}` })
  status?: SagaStatus;

  @PageLimit()
  limit: number = DEFAULT_LIMIT;

  @PageCursor('sagas')
  cursor?: string;
}

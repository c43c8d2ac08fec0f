import { DEFAULT_LIMIT, PageCursor, PageLimit, TextFilter } from './query-fields.decorator.js';

/** Query of `GET /dead-letters`. */
export class ListDeadLettersQuery {
  @TextFilter('Destination name (exact)')
  destination?: string;

  @TextFilter('Message type (exact)')
  type?: string;

  @PageLimit()
  limit: number = DEFAULT_LIMIT;

  @PageCursor('dead-letters')
  cursor?: string;
}

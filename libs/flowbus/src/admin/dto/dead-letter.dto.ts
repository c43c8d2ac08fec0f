import { ApiProperty } from '@nestjs/swagger';
import { CausationIdProperty, CorrelationIdProperty } from './message-cause.property.js';
import { ErrorEntryDto } from './error-entry.dto.js';

/** A message the relay gave up on, as the admin API lists it. */
export class DeadLetterDto {
  @ApiProperty({ format: 'uuid', description: 'The message id; kept when requeued' })
  id!: string;

  @ApiProperty()
  destination!: string;

  @ApiProperty()
  subscriber!: string;

  @ApiProperty()
  type!: string;

  @ApiProperty({ type: String, nullable: true })
  key!: string | null;

  @ApiProperty({ description: 'The JSON payload' })
  payload!: unknown;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  headers!: Record<string, string>;

  @CorrelationIdProperty()
  correlationId!: string | null;

  @CausationIdProperty()
  causationId!: string | null;

  @ApiProperty({ description: 'Deliveries attempted before it was dead-lettered' })
  attempts!: number;

  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ type: String, format: 'date-time' })
  failedAt!: Date;
}

/** A dead letter with its whole error history. */
export class DeadLetterDetailDto extends DeadLetterDto {
  @ApiProperty({ type: [ErrorEntryDto] })
  errors!: ErrorEntryDto[];
}

export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto] })
  items!: DeadLetterDto[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

/** Result of `POST /dead-letters/requeue`. */
export class BulkRequeueResultDto {
  @ApiProperty({ description: 'How many dead letters went back to the outbox' })
  requeued!: number;

  @ApiProperty({ type: [String], description: 'Their ids' })
  ids!: string[];

  @ApiProperty({
    type: [String],
    description: 'Requested ids that were not requeued: unknown, requeued already, or being requeued by another call',
  })
  skipped!: string[];

  @ApiProperty({ description: 'Filter mode: more dead letters match; call again' })
  more!: boolean;
}

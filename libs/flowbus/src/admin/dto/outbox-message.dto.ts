import { ApiProperty } from '@nestjs/swagger';
import { CausationIdProperty, CorrelationIdProperty } from './message-cause.property.js';
import { OUTBOX_STATUSES, type OutboxStatus } from '../admin.queries.js';
import { ErrorEntryDto } from './error-entry.dto.js';

/** An outbox row as the admin API lists it. */
export class OutboxMessageDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  destination!: string;

  @ApiProperty({ description: 'Durable subscriber of a `local` message; empty for other destinations' })
  subscriber!: string;

  @ApiProperty()
  type!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Ordering key (per-key FIFO)' })
  key!: string | null;

  @ApiProperty({ description: 'The JSON payload' })
  payload!: unknown;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  headers!: Record<string, string>;

  @CorrelationIdProperty()
  correlationId!: string | null;

  @CausationIdProperty()
  causationId!: string | null;

  @ApiProperty({ enum: OUTBOX_STATUSES })
  status!: OutboxStatus;

  @ApiProperty({
    description:
      'An undelivered `local` message for a durable subscriber this app does not have: this app leaves it pending for an app that has it',
  })
  noSubscriberHere!: boolean;

  @ApiProperty({ description: 'Failed deliveries so far' })
  attempts!: number;

  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ type: String, format: 'date-time', description: 'When the relay may (re)try it' })
  nextAttemptAt!: Date;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Lease end while a relay holds it' })
  lockedUntil!: Date | null;

  @ApiProperty({ type: String, nullable: true, description: 'Relay instance holding the lease' })
  lockOwner!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  deliveredAt!: Date | null;
}

/** An outbox row with its error history. */
export class OutboxMessageDetailDto extends OutboxMessageDto {
  @ApiProperty({ type: [ErrorEntryDto] })
  errors!: ErrorEntryDto[];
}

export class OutboxPageDto {
  @ApiProperty({ type: [OutboxMessageDto] })
  items!: OutboxMessageDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page',
  })
  nextCursor!: string | null;
}

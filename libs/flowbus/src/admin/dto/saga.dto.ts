import { ApiProperty } from '@nestjs/swagger';
import { SAGA_STATUSES, type SagaStatus } from '../admin.queries.js';

/** A saga instance as the admin API lists it. */
export class SagaDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ description: 'Saga name (@Saga({ name }))' })
  name!: string;

  @ApiProperty()
  correlationId!: string;

  @ApiProperty({ enum: SAGA_STATUSES })
  status!: SagaStatus;

  @ApiProperty({ description: 'Optimistic concurrency version' })
  version!: number;

  @ApiProperty({ description: 'The saga state (JSON)' })
  state!: unknown;

  @ApiProperty({ type: String, nullable: true, description: 'Why it failed or compensated' })
  reason!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: Date;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt!: Date | null;
}

/** A scheduled saga timeout. */
export class SagaTimeoutDto {
  @ApiProperty({ description: 'Timeout type (class name)' })
  type!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  dueAt!: string;

  @ApiProperty()
  payload!: unknown;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lockedUntil!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;
}

/** A saga instance with its recorded compensations and scheduled timeouts. */
export class SagaDetailDto extends SagaDto {
  @ApiProperty({ type: 'array', items: { type: 'object' }, description: 'Compensating messages recorded so far' })
  compensations!: unknown[];

  @ApiProperty({ type: [SagaTimeoutDto] })
  timeouts!: SagaTimeoutDto[];
}

export class SagaPageDto {
  @ApiProperty({ type: [SagaDto] })
  items!: SagaDto[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

import { ApiProperty } from '@nestjs/swagger';
import { CausationIdProperty, CorrelationIdProperty } from './message-cause.property.js';

/** A message of a conversation or a saga timeline. */
export class ConversationMessageDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  destination!: string;

  @ApiProperty({ description: 'Durable subscriber of a `local` message (`saga:<name>` for a saga step)' })
  subscriber!: string;

  @ApiProperty()
  type!: string;

  @CorrelationIdProperty()
  correlationId!: string | null;

  @CausationIdProperty()
  causationId!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The saga instance (`name/correlationId`) that wrote it' })
  saga!: string | null;

  @ApiProperty({ enum: ['pending', 'in-flight', 'delivered', 'dead-letter'] })
  status!: string;

  @ApiProperty()
  attempts!: number;

  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When it was delivered (or dead-lettered)',
  })
  finishedAt!: Date | null;
}

/** `GET /conversations/:correlationId`. */
export class ConversationDto {
  @ApiProperty()
  correlationId!: string;

  @ApiProperty({
    type: [ConversationMessageDto],
    description: 'Oldest first; build the tree with `causationId`',
  })
  messages!: ConversationMessageDto[];

  @ApiProperty({ type: [String], description: 'Saga instances (`name/correlationId`) whose steps wrote messages here' })
  sagas!: string[];

  @ApiProperty({ description: 'More messages than the API lists (500)' })
  truncated!: boolean;
}

/** `GET /sagas/:name/:correlationId/timeline`. */
export class SagaTimelineDto {
  @ApiProperty()
  name!: string;

  @ApiProperty()
  correlationId!: string;

  @ApiProperty({
    type: [ConversationMessageDto],
    description: 'Messages delivered to the saga and written by its steps, oldest first',
  })
  messages!: ConversationMessageDto[];

  @ApiProperty({ description: 'More messages than the API lists (500)' })
  truncated!: boolean;
}

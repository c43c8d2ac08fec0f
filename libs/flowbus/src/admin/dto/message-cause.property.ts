import { ApiProperty } from '@nestjs/swagger';

/** `correlationId` of a message (its header `correlation-id`), as every admin DTO documents it. */
export const CorrelationIdProperty = () =>
  ApiProperty({
    type: String,
    nullable: true,
    description: 'The conversation it belongs to (header `correlation-id`); null for messages written before 0.2',
  });

/** `causationId` of a message (its header `causation-id`). */
export const CausationIdProperty = () =>
  ApiProperty({
    type: String,
    nullable: true,
    description:
      'The message whose handler or saga step wrote it (header `causation-id`): its parent in a conversation',
  });

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One failed attempt in a message's error history (or a "Requeued" marker, attempt 0). */
export class ErrorEntryDto {
  @ApiProperty({ description: 'Attempt number; 0 marks a requeue from the dead letters' })
  attempt!: number;

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ description: 'Error class name' })
  name!: string;

  @ApiProperty()
  message!: string;

  @ApiPropertyOptional()
  code?: string;

  @ApiPropertyOptional()
  stack?: string;
}

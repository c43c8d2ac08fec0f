import { ApiProperty } from '@nestjs/swagger';

export class HistoryPointDto {
  @ApiProperty({ type: String, format: 'date-time', description: 'End of the bucket' })
  at!: Date;

  @ApiProperty({ description: 'Messages delivered in the bucket' })
  delivered!: number;

  @ApiProperty({ description: 'Delivery attempts that failed in the bucket' })
  failed!: number;

  @ApiProperty({ description: 'Undelivered messages at the end of the bucket' })
  backlog!: number;
}

export class DestinationHistoryDto {
  @ApiProperty()
  destination!: string;

  @ApiProperty({ type: [HistoryPointDto], description: 'Oldest first' })
  points!: HistoryPointDto[];
}

/** `GET /history`: the last hour, per minute. */
export class HistoryDto {
  @ApiProperty({ example: 60 })
  bucketSeconds!: number;

  @ApiProperty({ type: [DestinationHistoryDto] })
  destinations!: DestinationHistoryDto[];
}

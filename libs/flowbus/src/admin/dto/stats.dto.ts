import { ApiProperty } from '@nestjs/swagger';

export class DestinationCountsDto {
  @ApiProperty()
  destination!: string;

  @ApiProperty({ description: 'Not delivered and not leased (waiting, or backing off)' })
  pending!: number;

  @ApiProperty({ description: 'Leased by a relay' })
  inFlight!: number;

  @ApiProperty({ description: 'Delivered, not yet removed by retention' })
  delivered!: number;

  @ApiProperty({
    description:
      'Undelivered `local` messages for a durable subscriber this app does not have: they wait for an app that has it',
  })
  noSubscriberHere!: number;
}

export class OutboxStatsDto {
  @ApiProperty()
  pending!: number;

  @ApiProperty()
  inFlight!: number;

  @ApiProperty()
  delivered!: number;

  @ApiProperty({
    description:
      'Undelivered `local` messages for a durable subscriber this app does not have (another app, or a renamed subscriber): they stay pending, never dead-lettered for it',
  })
  noSubscriberHere!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Age in ms of the oldest undelivered message (pending or in flight); null when none',
  })
  oldestPendingAgeMs!: number | null;

  @ApiProperty({ type: [DestinationCountsDto] })
  byDestination!: DestinationCountsDto[];
}

export class DeadLetterCountDto {
  @ApiProperty()
  destination!: string;

  @ApiProperty()
  count!: number;
}

export class DeadLetterStatsDto {
  @ApiProperty()
  total!: number;

  @ApiProperty({ type: [DeadLetterCountDto] })
  byDestination!: DeadLetterCountDto[];
}

export class SagaStatsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'Instances per status (every status present, 0 when none)',
    example: { running: 3, completed: 10, compensating: 0, compensated: 1, failed: 0 },
  })
  byStatus!: Record<string, number>;

  @ApiProperty({ description: 'Scheduled saga timeouts' })
  timeoutsPending!: number;
}

export class BreakerDto {
  @ApiProperty()
  destination!: string;

  @ApiProperty({ enum: ['closed', 'open', 'half-open'] })
  state!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'Rolling counts: fires, failures, successes, rejects, timeouts',
  })
  stats!: Record<string, number>;
}

/** Result of `GET /stats`. */
export class SubscriberLagDto {
  @ApiProperty({ description: 'Cursor name of a log subscriber: local:<durable subscriber> or destination:<name>' })
  subscriber!: string;

  @ApiProperty({
    description:
      'Log positions (seq) between its oldest cursor and the newest tick: an upper bound on the rows it has yet to read',
  })
  behindSeq!: number;

  @ApiProperty({ description: 'Age of the tick its oldest cursor is at, in seconds' })
  lagSeconds!: number;
}

export class StatsDto {
  @ApiProperty({ type: String, format: 'date-time', description: 'The app clock when the figures were taken' })
  at!: string;

  @ApiProperty({ type: OutboxStatsDto })
  outbox!: OutboxStatsDto;

  @ApiProperty({ type: DeadLetterStatsDto })
  deadLetters!: DeadLetterStatsDto;

  @ApiProperty({ type: SagaStatsDto })
  sagas!: SagaStatsDto;

  @ApiProperty({ type: [BreakerDto], description: 'Circuit breakers of this instance' })
  breakers!: BreakerDto[];

  @ApiProperty({
    type: [SubscriberLagDto],
    description:
      "Subscribers of the log storage (relay.storage 'log', else empty) and how far behind they are; a subscriber that stopped reading holds back retention",
  })
  subscribers!: SubscriberLagDto[];
}

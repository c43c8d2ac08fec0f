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

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Age in ms of its oldest undelivered message; null when none',
  })
  oldestPendingAgeMs!: number | null;
}

export class SubscriberLagDto {
  @ApiProperty()
  destination!: string;

  @ApiProperty({ description: 'Durable subscriber (handler or saga) of `local` rows' })
  subscriber!: string;

  @ApiProperty({ description: 'Undelivered messages (pending or in flight)' })
  pending!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Age in ms of its oldest undelivered message' })
  oldestPendingAgeMs!: number | null;
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

  @ApiProperty({ type: [SubscriberLagDto], description: 'Lag of each durable subscriber with messages in the outbox' })
  bySubscriber!: SubscriberLagDto[];
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

export class SagaCountDto {
  @ApiProperty()
  name!: string;

  @ApiProperty()
  status!: string;

  @ApiProperty()
  count!: number;
}

export class SagaStatsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'Instances per status (every status present, 0 when none)',
    example: { running: 3, completed: 10, compensating: 0, compensated: 1, failed: 0 },
  })
  byStatus!: Record<string, number>;

  @ApiProperty({ type: [SagaCountDto], description: 'Instances per saga and status (only the counts above 0)' })
  byName!: SagaCountDto[];

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

export class StallCauseDto {
  @ApiProperty({
    enum: [
      'breaker-open',
      'stale-lease',
      'no-subscriber',
      'old-transaction',
      'relay-stopped',
      'relay-disabled',
      'source-paused',
    ],
  })
  kind!: string;

  @ApiProperty({ description: 'What holds delivery back, in a sentence' })
  message!: string;

  @ApiProperty({ required: false })
  destination?: string;

  @ApiProperty({ required: false })
  subscriber?: string;

  @ApiProperty({ required: false, description: 'The source it concerns (source-paused)' })
  source?: string;

  @ApiProperty({ required: false, description: 'Messages it holds back' })
  count?: number;
}

/** A log subscriber's lag, in `GET /stats`. */
export class LogSubscriberLagDto {
  @ApiProperty({ description: 'Cursor name of a log subscriber: local:<durable subscriber> or destination:<name>' })
  subscriber!: string;

  @ApiProperty({
    description:
      'Log positions (seq) between its oldest cursor and the newest tick: an upper bound on the rows it has yet to read',
  })
  behindSeq!: number;

  @ApiProperty({ description: 'Age of the tick its oldest cursor is at, in seconds' })
  lagSeconds!: number;

  @ApiProperty({
    description:
      'True when a log generation due to be emptied (closed at least relay.retentionMs ago) is kept because this subscriber has not read all of it: the log stops rotating and grows until it reads on or is retired',
  })
  blocksRetention!: boolean;
}

/** Result of `GET /stats`. */
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
    type: [LogSubscriberLagDto],
    description:
      "Subscribers of the log storage (relay.storage 'log', else empty) and how far behind they are; a subscriber that stopped reading holds back retention",
  })
  subscribers!: LogSubscriberLagDto[];

  @ApiProperty({
    type: [StallCauseDto],
    description: 'Why delivery may be stalled ("why is it stalled?"); empty when nothing holds it back',
  })
  stalled!: StallCauseDto[];
}

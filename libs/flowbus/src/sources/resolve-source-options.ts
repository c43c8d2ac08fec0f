import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { bool, num, oneOf, onlyKnownKeys, section, str, typeName } from '../options/option-readers.js';
import { amqpUrl } from '../relay/destinations/resolve-amqp-options.js';
import { natsServers, STREAM_NAME } from '../relay/destinations/resolve-nats-options.js';
import type { AmqpSourceOptions } from './amqp-source-options.interface.js';
import type { NatsSourceOptions } from './nats-source-options.interface.js';

const AMQP = 'amqpSource';
const NATS = 'natsSource';
/** Queue and exchange names: what RabbitMQ accepts (up to 255 characters), no whitespace but spaces. */
const AMQP_NAME = /^[^\t\n\r\f\v]{1,255}$/;
const CONSUMER_NAME = /^[^\s.*>/\\]{1,255}$/;
const SUBJECT_FILTER = /^[^\s]+$/;

export interface ResolvedAmqpBinding {
  exchange: string;
  routingKey: string;
  exchangeType: 'topic' | 'direct' | 'fanout' | 'headers';
}

export interface ResolvedAmqpSourceOptions {
  url: string;
  shownUrl: string;
  queue: string;
  bindings: ResolvedAmqpBinding[];
  prefetch: number;
  batchSize: number;
  deadLetterQueue: string | false;
  assertTopology: boolean;
  maxBacklog: number;
  map: ((raw: never) => unknown) | undefined;
  socketOptions: Record<string, unknown>;
}

export interface ResolvedNatsSourceOptions {
  servers: string[];
  shownServers: string;
  stream: string;
  durable: string;
  filterSubjects: string[];
  maxAckPending: number;
  ackWaitMs: number;
  batchSize: number;
  maxBacklog: number;
  map: ((raw: never) => unknown) | undefined;
  connectOptions: Record<string, unknown>;
}

/** Validates `amqpSource()` options when the source is created, naming the bad field. */
export function resolveAmqpSourceOptions(options: AmqpSourceOptions): ResolvedAmqpSourceOptions {
  const o = section(options, AMQP);
  onlyKnownKeys(o, AMQP, [
    'url',
    'queue',
    'bindings',
    'prefetch',
    'batchSize',
    'deadLetterQueue',
    'assertTopology',
    'maxBacklog',
    'map',
    'socketOptions',
  ]);
  const queue = required(o.queue, `${AMQP}.queue`, 'the queue to consume', AMQP_NAME);
  const prefetch = num(o.prefetch, `${AMQP}.prefetch`, 200, { min: 1, max: 65_535, integer: true });
  const deadLetterQueue =
    o.deadLetterQueue === false
      ? false
      : str(o.deadLetterQueue, `${AMQP}.deadLetterQueue`, `${queue}.dead-letter`, AMQP_NAME);
  return {
    ...amqpUrl(o.url, `${AMQP}.url`),
    queue,
    bindings: bindingsOf(o.bindings),
    prefetch,
    batchSize: num(o.batchSize, `${AMQP}.batchSize`, Math.ceil(prefetch / 2), { min: 1, max: prefetch, integer: true }),
    deadLetterQueue,
    assertTopology: bool(o.assertTopology, `${AMQP}.assertTopology`, true),
    maxBacklog: maxBacklogOf(o.maxBacklog, AMQP),
    map: mapOf(o.map, AMQP),
    socketOptions: section(o.socketOptions, `${AMQP}.socketOptions`),
  };
}

/** Validates `natsSource()` options when the source is created, naming the bad field. */
export function resolveNatsSourceOptions(options: NatsSourceOptions): ResolvedNatsSourceOptions {
  const o = section(options, NATS);
  onlyKnownKeys(o, NATS, [
    'servers',
    'stream',
    'durable',
    'filterSubjects',
    'maxAckPending',
    'ackWaitMs',
    'batchSize',
    'maxBacklog',
    'map',
    'connectOptions',
  ]);
  const stream = required(o.stream, `${NATS}.stream`, 'the JetStream stream to consume', STREAM_NAME);
  const durable = required(o.durable, `${NATS}.durable`, 'the name of the durable consumer', CONSUMER_NAME);
  const filterSubjects = o.filterSubjects ?? [];
  if (!Array.isArray(filterSubjects) || !filterSubjects.every((s) => typeof s === 'string' && SUBJECT_FILTER.test(s))) {
    throw new InvalidOptionsError(
      `${NATS}.filterSubjects`,
      `must be an array of subjects, got ${typeName(o.filterSubjects)}`,
    );
  }
  return {
    ...natsServers(o.servers, `${NATS}.servers`),
    stream,
    durable,
    filterSubjects: filterSubjects as string[],
    maxAckPending: num(o.maxAckPending, `${NATS}.maxAckPending`, 1000, { min: 1, max: 1_000_000, integer: true }),
    ackWaitMs: num(o.ackWaitMs, `${NATS}.ackWaitMs`, 30_000, { min: 1000, max: 2_147_483_647, integer: true }),
    batchSize: num(o.batchSize, `${NATS}.batchSize`, 100, { min: 1, max: 10_000, integer: true }),
    maxBacklog: maxBacklogOf(o.maxBacklog, NATS),
    map: mapOf(o.map, NATS),
    connectOptions: section(o.connectOptions, `${NATS}.connectOptions`),
  };
}

function bindingsOf(value: unknown): ResolvedAmqpBinding[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new InvalidOptionsError(`${AMQP}.bindings`, `must be an array, got ${typeName(value)}`);
  return value.map((b: unknown, i) => {
    const field = `${AMQP}.bindings[${i}]`;
    const binding = section(b, field);
    onlyKnownKeys(binding, field, ['exchange', 'routingKey', 'exchangeType']);
    const exchange = required(binding.exchange, `${field}.exchange`, 'the exchange to bind to', AMQP_NAME);
    if (binding.routingKey !== undefined && typeof binding.routingKey !== 'string') {
      throw new InvalidOptionsError(`${field}.routingKey`, `must be a string, got ${typeName(binding.routingKey)}`);
    }
    return {
      exchange,
      routingKey: (binding.routingKey as string | undefined) ?? '#',
      exchangeType: oneOf(
        binding.exchangeType,
        `${field}.exchangeType`,
        ['topic', 'direct', 'fanout', 'headers'] as const,
        'topic',
      ),
    };
  });
}

function required(value: unknown, field: string, what: string, pattern: RegExp): string {
  if (value === undefined) throw new InvalidOptionsError(field, `is required (${what})`);
  return str(value, field, '', pattern);
}

function maxBacklogOf(value: unknown, prefix: string): number {
  return num(value, `${prefix}.maxBacklog`, 10_000, { min: 1, max: 100_000_000, integer: true });
}

function mapOf(value: unknown, prefix: string): ((raw: never) => unknown) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new InvalidOptionsError(
      `${prefix}.map`,
      `must be a function (raw) => message | null, got ${typeName(value)}`,
    );
  }
  return value as (raw: never) => unknown;
}

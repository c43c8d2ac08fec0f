import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import { NonRetryableError } from '../../errors/non-retryable.error.js';
import { num, onlyKnownKeys, section, str, typeName } from '../../options/option-readers.js';
import type { DeliveryMessage } from '../destination.interface.js';
import { OVERRIDE_KEYS, overridesOf, type DestinationOverrides } from './destination-overrides.js';
import type { NatsDestinationOptions } from './nats-destination-options.interface.js';

const FIELD = 'natsDestination';
/** A publishable subject: dot-separated tokens, no whitespace, no wildcards. */
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
export const STREAM_NAME = /^[^\s.*>/\\]{1,255}$/;

export interface ResolvedNatsOptions {
  servers: string[];
  /** The servers as they may appear in logs and errors: no credentials. */
  shownServers: string;
  subject: (message: DeliveryMessage) => string;
  stream: string | undefined;
  streamSubjects: string[];
  timeoutMs: number;
  connectOptions: Record<string, unknown>;
  overrides: DestinationOverrides;
}

/** Validates `natsDestination()` options when the destination is created, naming the bad field. */
export function resolveNatsOptions(options: NatsDestinationOptions): ResolvedNatsOptions {
  const o = section(options, FIELD);
  onlyKnownKeys(o, FIELD, [
    'servers',
    'subject',
    'stream',
    'streamSubjects',
    'timeoutMs',
    'connectOptions',
    ...OVERRIDE_KEYS,
  ]);
  const stream = o.stream === undefined ? undefined : str(o.stream, `${FIELD}.stream`, '', STREAM_NAME);
  return {
    ...natsServers(o.servers, `${FIELD}.servers`),
    subject: subjectOf(o.subject),
    stream,
    streamSubjects: streamSubjectsOf(o.streamSubjects, o.subject, stream),
    timeoutMs: num(o.timeoutMs, `${FIELD}.timeoutMs`, 10_000, { min: 1, max: 2_147_483_647, integer: true }),
    connectOptions: section(o.connectOptions, `${FIELD}.connectOptions`),
    overrides: overridesOf(options),
  };
}

/** NATS server URL(s), and the same without credentials for logs and errors. */
export function natsServers(value: unknown, field: string): { servers: string[]; shownServers: string } {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw new InvalidOptionsError(field, `must be a server URL or a non-empty array of them, got ${typeName(value)}`);
  }
  const servers = list as string[];
  return { servers, shownServers: servers.map((s) => s.replace(/^([a-z]+:\/\/)?[^@/]*@/i, '$1')).join(',') };
}

function subjectOf(value: unknown): (message: DeliveryMessage) => string {
  const field = `${FIELD}.subject`;
  if (typeof value === 'string') {
    if (!SUBJECT.test(value))
      throw new InvalidOptionsError(field, `must be a subject without spaces or wildcards, got "${value}"`);
    return () => value;
  }
  if (typeof value !== 'function') {
    throw new InvalidOptionsError(
      field,
      `must be a subject or a function (message) => subject, got ${typeName(value)}`,
    );
  }
  const fn = value as (message: DeliveryMessage) => unknown;
  return (message) => {
    const subject = fn(message);
    if (typeof subject !== 'string' || !SUBJECT.test(subject)) {
      throw new NonRetryableError(
        `natsDestination subject(message) returned ${typeName(subject)} for message ${message.id}, not a subject without spaces or wildcards`,
      );
    }
    return subject;
  };
}

function streamSubjectsOf(value: unknown, subject: unknown, stream: string | undefined): string[] {
  const field = `${FIELD}.streamSubjects`;
  if (value === undefined) {
    if (stream !== undefined && typeof subject !== 'string') {
      throw new InvalidOptionsError(
        field,
        'is required with "stream" when "subject" is a function (the subjects of the stream to create)',
      );
    }
    return typeof subject === 'string' ? [subject] : [];
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string' && s !== '')) {
    throw new InvalidOptionsError(field, `must be a non-empty array of subjects, got ${typeName(value)}`);
  }
  return value as string[];
}

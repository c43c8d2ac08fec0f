import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import { NonRetryableError } from '../../errors/non-retryable.error.js';
import { bool, oneOf, onlyKnownKeys, section, typeName } from '../../options/option-readers.js';
import type { DeliveryMessage } from '../destination.interface.js';
import type { AmqpDestinationOptions } from './amqp-destination-options.interface.js';
import { OVERRIDE_KEYS, overridesOf, type DestinationOverrides } from './destination-overrides.js';

const FIELD = 'amqpDestination';

export interface ResolvedAmqpOptions {
  url: string;
  /** The broker as it may appear in logs and errors: no credentials. */
  shownUrl: string;
  exchange: string;
  routingKey: (message: DeliveryMessage) => string;
  exchangeType: 'topic' | 'direct' | 'fanout' | 'headers';
  assertExchange: boolean;
  mandatory: boolean;
  socketOptions: Record<string, unknown>;
  overrides: DestinationOverrides;
}

/** Validates `amqpDestination()` options when the destination is created, naming the bad field. */
export function resolveAmqpOptions(options: AmqpDestinationOptions): ResolvedAmqpOptions {
  const o = section(options, FIELD);
  onlyKnownKeys(o, FIELD, [
    'url',
    'exchange',
    'routingKey',
    'exchangeType',
    'assertExchange',
    'mandatory',
    'socketOptions',
    ...OVERRIDE_KEYS,
  ]);
  if (typeof o.exchange !== 'string') {
    throw new InvalidOptionsError(
      `${FIELD}.exchange`,
      `must be a string ('' for the default exchange), got ${typeName(o.exchange)}`,
    );
  }
  return {
    ...amqpUrl(o.url, `${FIELD}.url`),
    exchange: o.exchange,
    routingKey: routingKeyOf(o.routingKey),
    exchangeType: oneOf(
      o.exchangeType,
      `${FIELD}.exchangeType`,
      ['topic', 'direct', 'fanout', 'headers'] as const,
      'topic',
    ),
    assertExchange: bool(o.assertExchange, `${FIELD}.assertExchange`, true),
    mandatory: bool(o.mandatory, `${FIELD}.mandatory`, false),
    socketOptions: section(o.socketOptions, `${FIELD}.socketOptions`),
    overrides: overridesOf(options),
  };
}

/** An amqp:// or amqps:// URL, and the same without credentials for logs and errors. */
export function amqpUrl(value: unknown, field: string): { url: string; shownUrl: string } {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionsError(field, `must be an amqp:// or amqps:// URL, got ${typeName(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // new URL() says only "Invalid URL"; the rule below says more.
    throw new InvalidOptionsError(field, 'must be an amqp:// or amqps:// URL');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new InvalidOptionsError(field, `must use amqp: or amqps:, got "${url.protocol}"`);
  }
  return { url: value, shownUrl: `${url.protocol}//${url.host}${url.pathname}` };
}

function routingKeyOf(value: unknown): (message: DeliveryMessage) => string {
  if (value === undefined) return (m) => m.type;
  if (typeof value === 'string') return () => value;
  if (typeof value !== 'function') {
    throw new InvalidOptionsError(
      `${FIELD}.routingKey`,
      `must be a string or a function (message) => string, got ${typeName(value)}`,
    );
  }
  const fn = value as (message: DeliveryMessage) => unknown;
  return (message) => {
    const key = fn(message);
    if (typeof key !== 'string') {
      throw new NonRetryableError(
        `amqpDestination routingKey(message) returned ${typeName(key)} for message ${message.id}, not a string`,
      );
    }
    return key;
  };
}

import { typeName } from '../options/option-readers.js';
import type { RawAmqpMessage, RawNatsMessage } from './raw-message.interface.js';
import type { ReceivedMessage } from './received-message.interface.js';

/** Longest message id accepted from a broker. */
const MAX_ID_LENGTH = 500;

/** Why a received message cannot be stored; it goes to the broker's dead-letter mechanism. */
export class UnmappableMessage extends Error {}

/**
 * Checks what a `map(raw)` returned (or the built-in mapping built): `null` drops the message,
 * anything else must be a complete message.
 */
export function checkMapped(value: unknown): ReceivedMessage | null {
  if (value === null) return null;
  if (typeof value !== 'object' || value === undefined || Array.isArray(value)) {
    throw new UnmappableMessage(`map(raw) returned ${typeName(value)}, not a message or null`);
  }
  const m = value as Record<string, unknown>;
  if (typeof m.id !== 'string' || m.id === '' || m.id.length > MAX_ID_LENGTH) {
    throw new UnmappableMessage(
      `no message id (id must be a string of 1-${MAX_ID_LENGTH} characters, got ${typeName(m.id)})`,
    );
  }
  if (typeof m.type !== 'string' || m.type === '') {
    throw new UnmappableMessage(`message ${m.id} has no type (got ${typeName(m.type)})`);
  }
  if (m.key !== undefined && m.key !== null && typeof m.key !== 'string') {
    throw new UnmappableMessage(`message ${m.id} has a key that is not a string (${typeName(m.key)})`);
  }
  if (m.headers !== undefined) {
    if (typeof m.headers !== 'object' || m.headers === null || Array.isArray(m.headers)) {
      throw new UnmappableMessage(`message ${m.id} has headers that are not an object of strings`);
    }
    for (const [name, v] of Object.entries(m.headers)) {
      if (typeof v !== 'string')
        throw new UnmappableMessage(`message ${m.id} has header "${name}" that is not a string`);
    }
  }
  return {
    id: m.id,
    type: m.type,
    ...(typeof m.key === 'string' ? { key: m.key } : {}),
    payload: m.payload,
    headers: (m.headers as Record<string, string> | undefined) ?? {},
  };
}

/** JSON of a body, or an UnmappableMessage saying why not. */
export function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new UnmappableMessage(`the body is not JSON (${(error as Error).message})`);
  }
}

/** Headers Flowbus's AMQP destination sets beside the message headers. */
const AMQP_KEY_HEADER = 'flowbus-key';

/**
 * A message as `amqpDestination` writes it: `messageId`, `type`, the key in the `flowbus-key`
 * header, the other string headers, the JSON body as payload.
 */
export function fromAmqp(raw: RawAmqpMessage): ReceivedMessage {
  const { messageId, type } = raw.properties;
  if (typeof messageId !== 'string' || messageId === '') {
    throw new UnmappableMessage('no messageId property (give the source a map(raw) for messages of other producers)');
  }
  if (typeof type !== 'string' || type === '') {
    throw new UnmappableMessage(`message ${messageId} has no type property (give the source a map(raw))`);
  }
  const headers: Record<string, string> = {};
  let key: string | undefined;
  for (const [name, value] of Object.entries(raw.headers)) {
    if (name === AMQP_KEY_HEADER) key = typeof value === 'string' ? value : undefined;
    // RabbitMQ's own headers (x-death, x-first-death-* …) are tables and arrays: not message headers.
    else if (typeof value === 'string') headers[name] = value;
  }
  return { id: messageId, type, ...(key === undefined ? {} : { key }), payload: raw.json(), headers };
}

/** NATS headers that carry the message itself rather than message headers. */
const NATS_OWN_HEADERS = new Set(['content-type', 'flowbus-type', 'flowbus-key']);

/**
 * A message as `natsDestination` writes it: `Nats-Msg-Id`, `Flowbus-Type`, `Flowbus-Key`, the
 * other headers (not `Nats-*`, not `Content-Type`), the JSON body as payload.
 */
export function fromNats(raw: RawNatsMessage): ReceivedMessage {
  const get = (name: string) => Object.entries(raw.headers).find(([k]) => k.toLowerCase() === name)?.[1];
  const id = get('nats-msg-id');
  const type = get('flowbus-type');
  if (!id)
    throw new UnmappableMessage('no Nats-Msg-Id header (give the source a map(raw) for messages of other producers)');
  if (!type) throw new UnmappableMessage(`message ${id} has no Flowbus-Type header (give the source a map(raw))`);
  const key = get('flowbus-key');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.headers)) {
    const lower = name.toLowerCase();
    if (!NATS_OWN_HEADERS.has(lower) && !lower.startsWith('nats-')) headers[name] = value;
  }
  return { id, type, ...(key === undefined ? {} : { key }), payload: raw.json(), headers };
}

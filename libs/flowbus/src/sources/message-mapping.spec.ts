import { describe, expect, it } from '@jest/globals';
import { checkMapped, fromAmqp, fromNats, parseJson, UnmappableMessage } from './message-mapping.js';
import type { RawAmqpMessage, RawNatsMessage } from './raw-message.interface.js';

const amqp = (
  properties: Record<string, unknown>,
  headers: Record<string, unknown>,
  body = '{"a":1}',
): RawAmqpMessage => ({
  body: Buffer.from(body),
  json: () => parseJson(Buffer.from(body)),
  exchange: 'x',
  routingKey: 'r',
  redelivered: false,
  properties,
  headers,
});

const nats = (headers: Record<string, string>, body = '{"a":1}'): RawNatsMessage => ({
  body: new TextEncoder().encode(body),
  json: () => parseJson(new TextEncoder().encode(body)),
  subject: 's',
  headers,
  stream: 'S',
  sequence: 7,
  redelivered: false,
});

describe('the built-in mappings (the format of Flowbus destinations)', () => {
  it('read id, type, key and the string headers of an AMQP message', () => {
    const raw = amqp({ messageId: 'm1', type: 'T' }, { 'flowbus-key': 'k', h: 'v', 'x-death': [{ count: 1 }], n: 3 });
    expect(fromAmqp(raw)).toEqual({ id: 'm1', type: 'T', key: 'k', payload: { a: 1 }, headers: { h: 'v' } });
  });

  it('read Nats-Msg-Id, Flowbus-Type and Flowbus-Key, leaving the transport headers out', () => {
    const raw = nats({
      'Nats-Msg-Id': 'm2',
      'Flowbus-Type': 'T',
      'Flowbus-Key': 'k',
      'Content-Type': 'application/json',
      h: 'v',
    });
    expect(fromNats(raw)).toEqual({ id: 'm2', type: 'T', key: 'k', payload: { a: 1 }, headers: { h: 'v' } });
  });

  it('refuse a message without id or type, or whose body is not JSON', () => {
    expect(() => fromAmqp(amqp({ type: 'T' }, {}))).toThrow(UnmappableMessage);
    expect(() => fromAmqp(amqp({ messageId: 'm' }, {}))).toThrow(/no type/);
    expect(() => fromAmqp(amqp({ messageId: 'm', type: 'T' }, {}, 'nope'))).toThrow(/not JSON/);
    expect(() => fromNats(nats({ 'Flowbus-Type': 'T' }))).toThrow(/Nats-Msg-Id/);
  });
});

describe('checkMapped', () => {
  it('passes null through (drop) and fills in headers', () => {
    expect(checkMapped(null)).toBeNull();
    expect(checkMapped({ id: 'a', type: 'T', payload: 1 })).toEqual({ id: 'a', type: 'T', payload: 1, headers: {} });
  });

  it('names what a map(raw) got wrong', () => {
    expect(() => checkMapped(undefined)).toThrow(/returned undefined/);
    expect(() => checkMapped({ type: 'T' })).toThrow(/no message id/);
    expect(() => checkMapped({ id: 'x'.repeat(501), type: 'T' })).toThrow(/no message id/);
    expect(() => checkMapped({ id: 'a', type: '' })).toThrow(/has no type/);
    expect(() => checkMapped({ id: 'a', type: 'T', key: 5 })).toThrow(/key that is not a string/);
    expect(() => checkMapped({ id: 'a', type: 'T', headers: { h: 1 } })).toThrow(/header "h"/);
  });
});

import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { eventTypeOfInstance } from '../bus/event-type.js';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { InvalidMessageError } from '../errors/invalid-message.error.js';
import { UnknownDestinationError } from '../errors/unknown-destination.error.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { messageId } from './message-id.js';
import type { OutboxMessage, OutboxPublishOptions } from './outbox-message.interface.js';
import type { LogInsertRow } from './log.queries.js';
import type { OutboxInsertRow } from './outbox.queries.js';
import { FlowbusTelemetry } from '../telemetry/flowbus-telemetry.js';
import { PayloadCodec } from './payload-codec.js';
import { SubscriberDirectory } from './subscriber-directory.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Turns messages and events into validated outbox rows: `OutboxService` writes them, and the saga
 * engine folds them into the statement that saves a batch of steps.
 */
@Injectable()
export class OutboxRows {
  constructor(
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly directory: SubscriberDirectory,
    private readonly codec: PayloadCodec,
    private readonly telemetry: FlowbusTelemetry,
  ) {}

  /**
   * Rows of `enqueue(messages)`: a message for `local` becomes one row per durable subscriber of
   * its type in any app (see SubscriberDirectory); a type nobody subscribes to is refused.
   * @throws InvalidMessageError, UnknownDestinationError, NoSubscriberError
   */
  async forMessages(
    messages: OutboxMessage | readonly OutboxMessage[],
    manager: EntityManager,
  ): Promise<OutboxInsertRow[]> {
    const rows: OutboxInsertRow[] = [];
    if (Array.isArray(messages)) {
      const list = messages as readonly OutboxMessage[];
      for (let i = 0; i < list.length; i++) await this.addRows(rows, list[i]!, i, manager, firstId(rows));
    } else {
      await this.addRows(rows, messages as OutboxMessage, undefined, manager, undefined);
    }
    return rows;
  }

  /**
   * Rows of `publish(events)`: one per durable subscriber (in any app) and per route of each
   * event's type; a type with neither is refused.
   * @throws InvalidEventError, InvalidMessageError, NoSubscriberError
   */
  async forEvents(
    events: object | readonly object[],
    options: OutboxPublishOptions,
    manager: EntityManager,
  ): Promise<OutboxInsertRow[]> {
    const list = Array.isArray(events) ? (events as readonly object[]) : [events];
    const key = options.key ?? null;
    const headers = this.telemetry.stamp(headersOf(options.headers, 'options.headers'));
    const at = availableAt(options.availableAt, 'options.availableAt');
    const rows: OutboxInsertRow[] = [];
    for (let i = 0; i < list.length; i++) {
      const event = list[i]!;
      const type = eventTypeOfInstance(event);
      const payload = this.serialise(event, () => (list === events ? `events[${i}]` : 'event'));
      const base = { type, key, payload, availableAt: at };
      const routes = this.options.routes.filter((r) => r.eventType === type);
      for (const subscriber of await this.directory.namesOf(type, manager, routes.length === 0)) {
        const id = messageId();
        rows.push({ ...base, id, headers: headers(id), destination: LOCAL_DESTINATION, subscriber });
      }
      for (const route of routes) {
        const id = messageId();
        rows.push({ ...base, id, headers: headers(id), destination: route.destination, subscriber: '' });
      }
    }
    return rows;
  }

  /**
   * Rows of `enqueue(messages)` for the log storage: one row per message. A `local` message is
   * for every durable subscriber of its type (each reads it through its cursor); a type nobody
   * subscribes to is refused.
   * @throws InvalidMessageError, UnknownDestinationError, NoSubscriberError
   */
  async logRowsForMessages(
    messages: OutboxMessage | readonly OutboxMessage[],
    manager: EntityManager,
  ): Promise<LogInsertRow[]> {
    const list = Array.isArray(messages) ? (messages as readonly OutboxMessage[]) : [messages as OutboxMessage];
    const rows: LogInsertRow[] = [];
    for (let i = 0; i < list.length; i++) {
      const { stamp, ...m } = this.validate(list[i]!, list === messages ? i : undefined);
      const id = m.id ?? messageId();
      const headers = stamp(rows[0]?.id ?? id);
      if (m.destination === LOCAL_DESTINATION) {
        await this.directory.namesOf(m.type, manager, true);
        rows.push({ ...m, id, headers, destination: null });
      } else {
        rows.push({ ...m, id, headers });
      }
    }
    return rows;
  }

  /**
   * Rows of `publish(events)` for the log storage: one row per event, read by each durable
   * subscriber and route of its type through its own cursor; a type with neither is refused.
   * @throws InvalidEventError, InvalidMessageError, NoSubscriberError
   */
  async logRowsForEvents(
    events: object | readonly object[],
    options: OutboxPublishOptions,
    manager: EntityManager,
  ): Promise<LogInsertRow[]> {
    const list = Array.isArray(events) ? (events as readonly object[]) : [events];
    const key = options.key ?? null;
    const headers = this.telemetry.stamp(headersOf(options.headers, 'options.headers'));
    const at = availableAt(options.availableAt, 'options.availableAt');
    const rows: LogInsertRow[] = [];
    for (let i = 0; i < list.length; i++) {
      const event = list[i]!;
      const type = eventTypeOfInstance(event);
      const payload = this.serialise(event, () => (list === events ? `events[${i}]` : 'event'));
      if (!this.options.routes.some((r) => r.eventType === type)) await this.directory.namesOf(type, manager, true);
      const id = messageId();
      rows.push({ id, destination: null, type, key, payload, headers: headers(id), availableAt: at });
    }
    return rows;
  }

  /**
   * Validates `m` and appends its row(s). `index` names the message in errors (`messages[i]`, or
   * `message` when a single one was given); field names are only built when a check fails, since
   * this runs for every message written.
   */
  private async addRows(
    rows: OutboxInsertRow[],
    m: OutboxMessage,
    index: number | undefined,
    manager: EntityManager,
    /** Id of the first row of the call, which starts the conversation when nothing caused it. */
    first: string | undefined,
  ): Promise<void> {
    const { stamp, ...v } = this.validate(m, index);
    if (v.destination === LOCAL_DESTINATION) {
      const subscribers = await this.directory.namesOf(v.type, manager, true);
      if (v.id !== undefined && subscribers.length > 1) {
        throw new InvalidMessageError(
          `${index === undefined ? 'message' : `messages[${index}]`}.id`,
          `cannot be given for "local" type ${v.type}: it has ${subscribers.length} durable subscribers, one row each`,
        );
      }
      for (const subscriber of subscribers) {
        const id = v.id ?? messageId();
        rows.push({ ...v, id, headers: stamp(first ?? id), subscriber });
      }
      return;
    }
    const id = v.id ?? messageId();
    rows.push({ ...v, id, headers: stamp(first ?? id), subscriber: '' });
  }

  /**
   * The checked fields of `m` (see addRows for `index`); the destination is known or `local`.
   * `stamp(conversationStart)` gives its headers with the telemetry's correlation and trace fields.
   */
  private validate(m: OutboxMessage, index: number | undefined) {
    const field = (sub?: string) => `${index === undefined ? 'message' : `messages[${index}]`}${sub ? `.${sub}` : ''}`;
    if (typeof m !== 'object' || m === null) throw new InvalidMessageError(field(), 'must be an object');
    if (typeof m.type !== 'string' || m.type === '')
      throw new InvalidMessageError(field('type'), 'must be a non-empty string');
    if (m.key !== undefined && typeof m.key !== 'string')
      throw new InvalidMessageError(field('key'), 'must be a string');
    if (m.id !== undefined && (typeof m.id !== 'string' || !UUID.test(m.id)))
      throw new InvalidMessageError(field('id'), 'must be a uuid');
    const payload = this.serialise(m.payload, field, 'payload');
    const stamp = this.telemetry.stamp(m.headers === undefined ? undefined : headersOf(m.headers, field('headers')));
    const at = m.availableAt === undefined ? null : availableAt(m.availableAt, field('availableAt'));
    if (m.destination !== LOCAL_DESTINATION && !this.options.destinations.has(m.destination)) {
      throw new UnknownDestinationError(String(m.destination), [...this.options.destinations.keys()]);
    }
    return {
      id: m.id as string | undefined,
      destination: m.destination,
      type: m.type,
      key: m.key ?? null,
      payload,
      stamp,
      availableAt: at,
    };
  }

  /** JSON of `value`; `field(sub)` names it in the error, built only when serialising fails. */
  private serialise(value: unknown, field: (sub?: string) => string, sub?: string): string {
    let json: string | undefined;
    try {
      json = this.codec.stringify(value);
    } catch (error) {
      throw new InvalidMessageError(field(sub), `must be JSON-serialisable (${(error as Error).message})`);
    }
    if (json === undefined)
      throw new InvalidMessageError(field(sub), 'must be JSON-serialisable, got undefined or a function');
    return json;
  }
}

function firstId(rows: readonly OutboxInsertRow[]): string | undefined {
  return rows[0]?.id;
}

function headersOf(headers: unknown, field: string): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    throw new InvalidMessageError(field, 'must be an object of strings');
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string') throw new InvalidMessageError(`${field}.${k}`, 'must be a string');
  }
  return headers as Record<string, string>;
}

function availableAt(value: unknown, field: string): Date | null {
  if (value === undefined) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new InvalidMessageError(field, 'must be a valid Date');
  return value;
}

import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { eventTypeOfInstance } from '../bus/event-type.js';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { InvalidMessageError } from '../errors/invalid-message.error.js';
import { NotInTransactionError } from '../errors/not-in-transaction.error.js';
import { UnknownDestinationError } from '../errors/unknown-destination.error.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { CommitWatcher } from './commit-watcher.js';
import { messageId } from './message-id.js';
import type { OutboxMessage, OutboxPublishOptions } from './outbox-message.interface.js';
import { INSERT_PARAMS_PER_ROW, insertMessages, type OutboxInsertRow } from './outbox.queries.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ROWS_PER_INSERT = Math.floor(65_535 / INSERT_PARAMS_PER_ROW);

/**
 * Writes messages into the transactional outbox with the caller's transaction, so they commit
 * or roll back with the business data. The relay delivers them at least once after commit.
 */
@Injectable()
export class OutboxService {
  private readonly schema: string;
  private readonly channel: string;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly durable: DurableHandlerRegistry,
    private readonly commits: CommitWatcher,
  ) {
    this.schema = options.schema;
    this.channel = notifyChannel(options.schema);
  }

  /**
   * Writes messages with `manager`, which must belong to an open transaction. A message for
   * `local` becomes one row per durable handler of its type.
   * @returns the ids of the rows written
   * @throws NotInTransactionError, UnknownDestinationError, InvalidMessageError
   */
  async enqueue(manager: EntityManager, messages: OutboxMessage | readonly OutboxMessage[]): Promise<string[]> {
    const rows: OutboxInsertRow[] = [];
    if (Array.isArray(messages)) {
      const list = messages as readonly OutboxMessage[];
      for (let i = 0; i < list.length; i++) this.addRows(rows, list[i]!, i);
    } else {
      this.addRows(rows, messages as OutboxMessage, undefined);
    }
    return this.write(manager, rows, 'OutboxService.enqueue');
  }

  /**
   * Durable fan-out of an event: one row per durable subscriber (each `@HandleEvent(X, { durable:
   * true })`, each saga listening to X) and per configured route of X, so each is retried alone.
   * Several events (an array) are written with one INSERT, all with the same `options`.
   * @returns the ids of the rows written (none when nobody subscribes durably)
   */
  async publish(
    manager: EntityManager,
    events: object | readonly object[],
    options: OutboxPublishOptions = {},
  ): Promise<string[]> {
    const list = Array.isArray(events) ? (events as readonly object[]) : [events];
    const key = options.key ?? null;
    const headers = headersOf(options.headers, 'options.headers');
    const at = availableAt(options.availableAt, 'options.availableAt');
    const rows: OutboxInsertRow[] = [];
    for (let i = 0; i < list.length; i++) {
      const event = list[i]!;
      const type = eventTypeOfInstance(event);
      const payload = serialise(event, () => (list === events ? `events[${i}]` : 'event'));
      const base = { type, key, payload, headers, availableAt: at };
      for (const s of this.durable.subscribersOf(type)) {
        rows.push({ ...base, id: messageId(), destination: LOCAL_DESTINATION, subscriber: s.subscriber });
      }
      for (const route of this.options.routes) {
        if (route.eventType === type)
          rows.push({ ...base, id: messageId(), destination: route.destination, subscriber: '' });
      }
    }
    return this.write(manager, rows, 'OutboxService.publish');
  }

  /** Runs `work` in a transaction of Flowbus's DataSource; enqueue/publish with its manager. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  private async write(manager: EntityManager, rows: OutboxInsertRow[], operation: string): Promise<string[]> {
    const runner = manager.queryRunner;
    if (!runner || !runner.isTransactionActive) throw new NotInTransactionError(operation);
    if (rows.length === 0) return [];
    const now = new Date(this.options.clock.now());
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) {
      const chunk = i === 0 && rows.length <= MAX_ROWS_PER_INSERT ? rows : rows.slice(i, i + MAX_ROWS_PER_INSERT);
      // The wake-up for relays in other instances rides on the last INSERT (sent at commit).
      const last = i + MAX_ROWS_PER_INSERT >= rows.length;
      const q = insertMessages(this.schema, chunk, now, last && this.options.relay.notify ? this.channel : undefined);
      await runner.query(q.text, q.values);
    }
    this.commits.track(runner);
    return rows.map((r) => r.id);
  }

  /**
   * Validates `m` and appends its row(s). `index` names the message in errors (`messages[i]`, or
   * `message` when a single one was given); field names are only built when a check fails, since
   * this runs for every message written.
   */
  private addRows(rows: OutboxInsertRow[], m: OutboxMessage, index: number | undefined): void {
    const field = (sub?: string) => `${index === undefined ? 'message' : `messages[${index}]`}${sub ? `.${sub}` : ''}`;
    if (typeof m !== 'object' || m === null) throw new InvalidMessageError(field(), 'must be an object');
    if (typeof m.type !== 'string' || m.type === '')
      throw new InvalidMessageError(field('type'), 'must be a non-empty string');
    if (m.key !== undefined && typeof m.key !== 'string')
      throw new InvalidMessageError(field('key'), 'must be a string');
    if (m.id !== undefined && (typeof m.id !== 'string' || !UUID.test(m.id)))
      throw new InvalidMessageError(field('id'), 'must be a uuid');
    const type = m.type;
    const key = m.key ?? null;
    const payload = serialise(m.payload, field, 'payload');
    const headers = m.headers === undefined ? '{}' : headersOf(m.headers, field('headers'));
    const at = m.availableAt === undefined ? null : availableAt(m.availableAt, field('availableAt'));
    if (m.destination === LOCAL_DESTINATION) {
      const subscribers = this.durable.subscribersOf(m.type);
      if (m.id !== undefined && subscribers.length > 1) {
        throw new InvalidMessageError(
          field('id'),
          `cannot be given for "local" type ${m.type}: it has ${subscribers.length} durable handlers, one row each`,
        );
      }
      for (const s of subscribers) {
        rows.push({
          id: m.id ?? messageId(),
          destination: LOCAL_DESTINATION,
          subscriber: s.subscriber,
          type,
          key,
          payload,
          headers,
          availableAt: at,
        });
      }
      return;
    }
    if (!this.options.destinations.has(m.destination)) {
      throw new UnknownDestinationError(String(m.destination), [...this.options.destinations.keys()]);
    }
    rows.push({
      id: m.id ?? messageId(),
      destination: m.destination,
      subscriber: '',
      type,
      key,
      payload,
      headers,
      availableAt: at,
    });
  }
}

/** LISTEN/NOTIFY channel of a schema's outbox. */
export function notifyChannel(schema: string): string {
  return `flowbus_outbox_${schema}`;
}

/** JSON of `value`; `field(sub)` names it in the error, built only when serialising fails. */
function serialise(value: unknown, field: (sub?: string) => string, sub?: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new InvalidMessageError(field(sub), `must be JSON-serialisable (${(error as Error).message})`);
  }
  if (json === undefined)
    throw new InvalidMessageError(field(sub), 'must be JSON-serialisable, got undefined or a function');
  return json;
}

function headersOf(headers: unknown, field: string): string {
  if (headers === undefined) return '{}';
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    throw new InvalidMessageError(field, 'must be an object of strings');
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string') throw new InvalidMessageError(`${field}.${k}`, 'must be a string');
  }
  return JSON.stringify(headers);
}

function availableAt(value: unknown, field: string): Date | null {
  if (value === undefined) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new InvalidMessageError(field, 'must be a valid Date');
  return value;
}

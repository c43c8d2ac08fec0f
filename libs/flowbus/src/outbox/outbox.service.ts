import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
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
import type { OutboxMessage, OutboxPublishOptions } from './outbox-message.interface.js';
import { INSERT_PARAMS_PER_ROW, insertMessages, notify, type OutboxInsertRow } from './outbox.queries.js';

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
    const list = Array.isArray(messages) ? (messages as readonly OutboxMessage[]) : [messages as OutboxMessage];
    const rows = list.flatMap((m, i) => this.toRows(m, Array.isArray(messages) ? `messages[${i}]` : 'message'));
    return this.write(manager, rows, 'OutboxService.enqueue');
  }

  /**
   * Durable fan-out of an event: one row per durable subscriber (each `@HandleEvent(X, { durable:
   * true })`, each saga listening to X) and per configured route of X, so each is retried alone.
   * @returns the ids of the rows written (none when nobody subscribes durably)
   */
  async publish(manager: EntityManager, event: object, options: OutboxPublishOptions = {}): Promise<string[]> {
    const type = eventTypeOfInstance(event);
    const payload = serialise(event, 'event');
    const base = {
      type,
      key: options.key ?? null,
      payload,
      headers: headersOf(options.headers, 'options.headers'),
      availableAt: availableAt(options.availableAt, 'options.availableAt'),
    };
    const rows: OutboxInsertRow[] = [];
    for (const s of this.durable.subscribersOf(type)) {
      rows.push({ ...base, id: randomUUID(), destination: LOCAL_DESTINATION, subscriber: s.subscriber });
    }
    for (const route of this.options.routes) {
      if (route.eventType === type)
        rows.push({ ...base, id: randomUUID(), destination: route.destination, subscriber: '' });
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
      const q = insertMessages(this.schema, rows.slice(i, i + MAX_ROWS_PER_INSERT), now);
      await runner.query(q.text, q.values);
    }
    if (this.options.relay.notify) {
      const q = notify(this.channel);
      await runner.query(q.text, q.values);
    }
    this.commits.track(runner);
    return rows.map((r) => r.id);
  }

  private toRows(m: OutboxMessage, field: string): OutboxInsertRow[] {
    if (typeof m !== 'object' || m === null) throw new InvalidMessageError(field, 'must be an object');
    if (typeof m.type !== 'string' || m.type === '')
      throw new InvalidMessageError(`${field}.type`, 'must be a non-empty string');
    if (m.key !== undefined && typeof m.key !== 'string')
      throw new InvalidMessageError(`${field}.key`, 'must be a string');
    if (m.id !== undefined && (typeof m.id !== 'string' || !UUID.test(m.id)))
      throw new InvalidMessageError(`${field}.id`, 'must be a uuid');
    const base = {
      type: m.type,
      key: m.key ?? null,
      payload: serialise(m.payload, `${field}.payload`),
      headers: headersOf(m.headers, `${field}.headers`),
      availableAt: availableAt(m.availableAt, `${field}.availableAt`),
    };
    if (m.destination === LOCAL_DESTINATION) {
      const subscribers = this.durable.subscribersOf(m.type);
      if (m.id !== undefined && subscribers.length > 1) {
        throw new InvalidMessageError(
          `${field}.id`,
          `cannot be given for "local" type ${m.type}: it has ${subscribers.length} durable handlers, one row each`,
        );
      }
      return subscribers.map((s) => ({
        ...base,
        id: m.id ?? randomUUID(),
        destination: LOCAL_DESTINATION,
        subscriber: s.subscriber,
      }));
    }
    if (!this.options.destinations.has(m.destination)) {
      throw new UnknownDestinationError(String(m.destination), [...this.options.destinations.keys()]);
    }
    return [{ ...base, id: m.id ?? randomUUID(), destination: m.destination, subscriber: '' }];
  }
}

/** LISTEN/NOTIFY channel of a schema's outbox. */
export function notifyChannel(schema: string): string {
  return `flowbus_outbox_${schema}`;
}

function serialise(value: unknown, field: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new InvalidMessageError(field, `must be JSON-serialisable (${(error as Error).message})`);
  }
  if (json === undefined)
    throw new InvalidMessageError(field, 'must be JSON-serialisable, got undefined or a function');
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

import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { HandlerRegistry } from '../bus/handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { describeError } from '../errors/handler-failures.error.js';
import { NoSubscriberError } from '../errors/no-subscriber.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { closestName } from './closest-name.js';
import type { Query } from './outbox.queries.js';
import { listSubscribers, upsertSubscribers } from './subscriber-directory.queries.js';

/** How long the loaded directory is trusted before the next write reloads it. */
const REFRESH_MS = 10_000;

type Run = (query: Query) => Promise<{ eventType: string; subscriber: string }[]>;

/**
 * Whom a `local` message is for, across every app on the database. Each app records its durable
 * subscribers in `flowbus_subscriber` at start; writers fan out to this app's subscribers and
 * the recorded ones, so an app that only produces writes the rows a worker app consumes.
 *
 * Cached: a write looks the type up in memory and adds no query. Past REFRESH_MS the directory is
 * reloaded in the background (one small query on the pool, one at a time) while writes go on with
 * what it had; a type it does not know that would otherwise be refused is looked up at once, in the
 * writer's transaction, so a worker started after the producer is seen by the producer's next write.
 */
@Injectable()
export class SubscriberDirectory implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flowbus:Subscribers');
  private known = new Map<string, readonly string[]>();
  private loadedAt = -Infinity;
  private refreshing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly durable: DurableHandlerRegistry,
    private readonly handlers: HandlerRegistry,
  ) {}

  /**
   * Records this app's durable subscribers (after migrations and discovery). The directory itself
   * is loaded by the first write that needs it.
   */
  async onApplicationBootstrap(): Promise<void> {
    const pairs = this.durable.pairs();
    if (pairs.types.length === 0) return;
    const q = upsertSubscribers(this.options.schema, { ...pairs, now: new Date(this.options.clock.now()) });
    await poolOf(this.dataSource).query(q.text, q.values);
    this.logger.log(`Recorded ${pairs.types.length} durable subscriber(s): ${[...new Set(pairs.names)].join(', ')}`);
  }

  /**
   * Durable subscriber names of `type` in any app (this app's first). With `required`, an unknown
   * type reloads the directory and then throws NoSubscriberError; else it has none.
   */
  async namesOf(type: string, manager: EntityManager, required: boolean): Promise<readonly string[]> {
    if (this.loadedAt > -Infinity) {
      if (performance.now() - this.loadedAt >= REFRESH_MS) this.refresh();
      const names = this.known.get(type);
      if (names || !required) return names ?? [];
    }
    await this.load((q) => manager.query(q.text, q.values));
    const names = this.known.get(type);
    if (names || !required) return names ?? [];
    const candidates = new Set([...this.known.keys(), ...this.options.routes.map((r) => r.eventType)]);
    throw new NoSubscriberError(type, closestName(type, candidates), this.handlers.handlersOf(type).length > 0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.refreshing;
  }

  /** Reloads on the pool, one reload at a time; a failure keeps what was loaded (tried again later). */
  private refresh(): void {
    if (this.refreshing || this.stopped) return;
    const pool = poolOf(this.dataSource);
    this.refreshing = this.load(async (q) => (await pool.query(q.text, q.values)).rows)
      .catch((error: unknown) => {
        this.logger.warn(`Could not reload the subscriber directory: ${describeError(error)}`);
      })
      .finally(() => (this.refreshing = undefined));
  }

  private async load(run: Run): Promise<void> {
    const known = new Map<string, string[]>();
    const add = (type: string, name: string) => {
      const list = known.get(type);
      if (!list) known.set(type, [name]);
      else if (!list.includes(name)) list.push(name);
    };
    for (const [type, list] of this.localTypes()) for (const name of list) add(type, name);
    for (const row of await run(listSubscribers(this.options.schema))) add(row.eventType, row.subscriber);
    this.known = known;
    this.loadedAt = performance.now();
  }

  private localTypes(): Map<string, string[]> {
    const { types, names } = this.durable.pairs();
    const local = new Map<string, string[]>();
    types.forEach((t, i) => local.set(t, [...(local.get(t) ?? []), names[i]!]));
    return local;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { history, stats } from './stats.queries.js';

export interface DestinationFigures {
  destination: string;
  /** Not delivered and not leased (waiting, or backing off). */
  pending: number;
  inFlight: number;
  delivered: number;
  noSubscriberHere: number;
  /** Age of the oldest undelivered row (pending or in flight); null when none. */
  oldestPendingAgeMs: number | null;
}

export interface SubscriberFigures {
  destination: string;
  subscriber: string;
  /** Undelivered rows (pending or in flight). */
  pending: number;
  oldestPendingAgeMs: number | null;
}

/** What the database says about the outbox, dead letters and sagas right now. */
export interface FlowbusFigures {
  /** The app clock when the figures were taken. */
  at: Date;
  outbox: DestinationFigures[];
  subscribers: SubscriberFigures[];
  oldestPendingAgeMs: number | null;
  deadLetters: { destination: string; count: number }[];
  sagas: { name: string; status: string; count: number }[];
  timeoutsPending: number;
}

/** One bucket of a destination's history. */
export interface HistoryPoint {
  /** End of the bucket. */
  at: Date;
  delivered: number;
  /** Failed attempts (retried or dead-lettered). */
  failed: number;
  /** Undelivered messages at the end of the bucket. */
  backlog: number;
}

export interface DestinationHistory {
  destination: string;
  points: HistoryPoint[];
}

interface StatsRow extends Pick<FlowbusFigures, 'outbox' | 'subscribers' | 'oldestPendingAgeMs' | 'sagas'> {
  dead: FlowbusFigures['deadLetters'];
  timeouts: number;
}

/**
 * The one reader of the figures that `GET /stats`, the metrics' gauges and the health check show,
 * so the outbox storage is read for them in one place.
 * @internal
 */
@Injectable()
export class FlowbusStats {
  private readonly pool: Pool;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly durable: DurableHandlerRegistry,
  ) {
    this.pool = poolOf(dataSource);
  }

  /**
   * Delivered, failed and backlog per destination, in `buckets` buckets of `bucketSeconds`
   * ending now (database clock), oldest first.
   */
  async history(buckets = 60, bucketSeconds = 60): Promise<DestinationHistory[]> {
    const log = this.options.relay.storage === 'log' ? this.options.routes : undefined;
    const q = history(this.options.schema, { now: new Date(this.options.clock.now()), buckets, bucketSeconds, log });
    const rows = (await this.pool.query<HistoryPoint & { destination: string }>(q.text, q.values)).rows;
    const out = new Map<string, HistoryPoint[]>();
    for (const { destination, ...point } of rows) {
      const list = out.get(destination);
      if (list) list.push(point);
      else out.set(destination, [point]);
    }
    return [...out].map(([destination, points]) => ({ destination, points }));
  }

  async read(): Promise<FlowbusFigures> {
    const at = new Date(this.options.clock.now());
    const { types, names } = this.durable.pairs();
    const log = this.options.relay.storage === 'log' ? this.options.routes : undefined;
    const q = stats(this.options.schema, at, { name: LOCAL_DESTINATION, types, names }, log);
    const r = (await this.pool.query<StatsRow>(q.text, q.values)).rows[0]!;
    return {
      at,
      outbox: r.outbox,
      subscribers: r.subscribers,
      oldestPendingAgeMs: r.oldestPendingAgeMs,
      deadLetters: r.dead,
      sagas: r.sagas,
      timeoutsPending: r.timeouts,
    };
  }
}

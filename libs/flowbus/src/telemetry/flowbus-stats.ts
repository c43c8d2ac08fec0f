import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { stats } from './stats.queries.js';

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

  async read(): Promise<FlowbusFigures> {
    const at = new Date(this.options.clock.now());
    const { types, names } = this.durable.pairs();
    const q = stats(this.options.schema, at, { name: LOCAL_DESTINATION, types, names });
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

import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { logPending } from '../outbox/log.queries.js';
import { history, stats } from './stats.queries.js';

/** Deliveries pending in the log storage, per destination (see logPending). */
interface LogPendingRow {
  destination: string;
  pending: number;
  oldestPendingAgeMs: number;
}

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
    const q = history(this.options.schema, { now: new Date(this.options.clock.now()), buckets, bucketSeconds });
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
    const q = stats(this.options.schema, at, { name: LOCAL_DESTINATION, types, names });
    const log = this.options.relay.storage === 'log';
    const [r, inLog] = await Promise.all([
      this.pool.query<StatsRow>(q.text, q.values).then((res) => res.rows[0]!),
      // Only with the log: a role granted the table storage's tables alone may not read the cursors.
      log
        ? this.pool.query<LogPendingRow>(logPending(this.options.schema, this.options.routes)).then((res) => res.rows)
        : [],
    ]);
    // With the log, what a reader has yet to read there is pending too (besides flowbus_outbox's retries).
    const older = (a: number | null, b: number) => (a === null ? b : Math.max(a, b));
    for (const p of inLog) {
      const entry = r.outbox.find((d) => d.destination === p.destination);
      if (entry) {
        entry.pending += p.pending;
        entry.oldestPendingAgeMs = older(entry.oldestPendingAgeMs, p.oldestPendingAgeMs);
      } else {
        r.outbox.push({ ...p, inFlight: 0, delivered: 0, noSubscriberHere: 0 });
      }
      r.oldestPendingAgeMs = older(r.oldestPendingAgeMs, p.oldestPendingAgeMs);
    }
    if (inLog.length > 0) r.outbox.sort((a, b) => a.destination.localeCompare(b.destination));
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

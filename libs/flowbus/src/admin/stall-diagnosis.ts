import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { BreakerRegistry } from '../relay/breaker.registry.js';
import { OutboxRelay } from '../relay/outbox-relay.js';
import { SourceRunner } from '../sources/source-runner.js';
import { stallCauses } from '../monitoring/stats.queries.js';

/** Transactions open longer than this are named as holding PostgreSQL's horizon. @default 60 s */
const OLD_TRANSACTION_MS = 60_000;

/** Something that holds delivery back, as `GET /stats` names it under `stalled`. */
export interface StallCause {
  kind:
    | 'breaker-open'
    | 'stale-lease'
    | 'no-subscriber'
    | 'old-transaction'
    | 'relay-stopped'
    | 'relay-disabled'
    | 'source-paused';
  /** What it is, in a sentence an operator can act on. */
  message: string;
  destination?: string;
  subscriber?: string;
  /** The source (`sources` option) it concerns. */
  source?: string;
  /** Messages it holds back, when known. */
  count?: number;
}

interface CausesRow {
  stale: { owner: string; destination: string; count: number; until: string }[];
  orphans: { type: string; subscriber: string; count: number; seenAt: string | null }[];
  transactions: { pid: number; user: string; application: string; state: string; since: string; query: string }[];
}

/**
 * "Why is it stalled?": names what holds delivery back, for `GET /stats` and the dashboard.
 * @internal
 */
@Injectable()
export class StallDiagnosis {
  private readonly pool: Pool;

  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly durable: DurableHandlerRegistry,
    private readonly relay: OutboxRelay,
    private readonly breakers: BreakerRegistry,
    private readonly sources: SourceRunner,
  ) {
    this.pool = poolOf(dataSource);
  }

  /**
   * Why delivery may be stalled, most direct first. `pending` (undelivered rows) decides whether
   * a relay that does not run here is worth naming.
   */
  async causes(pending: number, transactionAgeMs = OLD_TRANSACTION_MS): Promise<StallCause[]> {
    const causes: StallCause[] = [];
    for (const b of this.breakers.snapshots()) {
      if (b.state !== 'open') continue;
      causes.push({
        kind: 'breaker-open',
        destination: b.destination,
        message: `The circuit breaker of "${b.destination}" is open: its messages are not claimed until a probe succeeds`,
      });
    }
    const relay = this.relay.status();
    if (pending > 0 && !relay.enabled) {
      causes.push({ kind: 'relay-disabled', message: 'This instance runs no relay (relay.enabled is false)' });
    } else if (pending > 0 && !relay.running) {
      causes.push({ kind: 'relay-stopped', message: 'The relay of this instance is stopped' });
    }
    for (const p of this.sources.paused()) {
      causes.push({
        kind: 'source-paused',
        source: p.source,
        count: p.backlog,
        message:
          `Source "${p.source}" is paused by flow control since ${new Date(p.since).toISOString()}: ` +
          `${p.backlog} received message(s) wait for local delivery (maxBacklog ${p.maxBacklog}); ` +
          `it takes messages again once half of them are delivered`,
      });
    }
    const now = this.options.clock.now();
    const { types, names } = this.durable.pairs();
    const leaseMs = this.options.relay.leaseMs;
    const q = stallCauses(this.options.schema, {
      now: new Date(now),
      local: { name: LOCAL_DESTINATION, types, names },
      staleLeaseTakenBefore: new Date(now - leaseMs / 2),
      leaseMs,
      owner: this.relay.owner,
      transactionAgeMs,
    });
    const r = (await this.pool.query<CausesRow>(q.text, q.values)).rows[0]!;
    for (const s of r.stale) {
      causes.push({
        kind: 'stale-lease',
        destination: s.destination,
        count: s.count,
        message:
          `${s.count} message(s) to "${s.destination}" leased by relay ${s.owner} for over half the lease: ` +
          `that instance may have stopped; they are claimed again after ${s.until}`,
      });
    }
    for (const o of r.orphans) {
      causes.push({
        kind: 'no-subscriber',
        destination: LOCAL_DESTINATION,
        subscriber: o.subscriber,
        count: o.count,
        message: o.seenAt
          ? `${o.count} ${o.type} message(s) for subscriber "${o.subscriber}", which this app does not have: ` +
            `they wait for the app that recorded it (last started ${o.seenAt})`
          : `${o.count} ${o.type} message(s) for subscriber "${o.subscriber}", which no app has: removed or renamed?`,
      });
    }
    for (const t of r.transactions) {
      causes.push({
        kind: 'old-transaction',
        message:
          `Transaction of backend ${t.pid} (${t.user}${t.application ? `, ${t.application}` : ''}, ${t.state}) ` +
          `open since ${t.since} holds PostgreSQL's xmin horizon: vacuum cannot clean delivered rows. ` +
          `Last query: ${t.query}`,
      });
    }
    return causes;
  }
}

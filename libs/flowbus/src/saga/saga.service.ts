import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { poolOf } from '../database/pg-pool.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import type { SagaStatus } from './saga-context.interface.js';
import { listSagas, loadSaga, timeoutsOf, type SagaRow } from './saga.queries.js';

/** A pending timeout of a saga instance. */
export interface SagaTimeoutInfo {
  readonly type: string;
  readonly dueAt: Date;
  readonly payload: unknown;
}

/** A saga instance as stored. */
export interface SagaInstance<S = Record<string, unknown>> {
  readonly id: string;
  /** The saga's name (`@Saga({ name })`), as in the admin API. */
  readonly name: string;
  readonly correlationId: string;
  readonly status: SagaStatus;
  readonly state: S;
  readonly version: number;
  readonly reason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
  readonly timeouts: readonly SagaTimeoutInfo[];
}

/** Reads saga instances (for your code, tests and the admin API). Writes go through steps only. */
@Injectable()
export class SagaService {
  constructor(
    @Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
  ) {}

  /** The instance of saga `name` for `correlationId`, with its pending timeouts; undefined if none. */
  async find<S = Record<string, unknown>>(name: string, correlationId: string): Promise<SagaInstance<S> | undefined> {
    const pool = poolOf(this.dataSource);
    const load = loadSaga(this.options.schema, name, correlationId, false);
    const { rows } = await pool.query<SagaRow>(load.text, load.values);
    if (rows.length === 0) return undefined;
    const t = timeoutsOf(this.options.schema, name, correlationId);
    const timeouts = await pool.query<{ timeout_type: string; due_at: Date; payload: unknown }>(t.text, t.values);
    return toInstance<S>(
      rows[0]!,
      timeouts.rows.map((r) => ({ type: r.timeout_type, dueAt: r.due_at, payload: r.payload })),
    );
  }

  /** Instances in creation order, optionally filtered; pass the last `seq` as `after` to page. */
  async list(
    filter: { name?: string; status?: SagaStatus; limit?: number; after?: number } = {},
  ): Promise<(SagaInstance & { seq: number })[]> {
    const q = listSagas(this.options.schema, {
      name: filter.name,
      status: filter.status,
      afterSeq: filter.after,
      limit: filter.limit ?? 50,
    });
    const { rows } = await poolOf(this.dataSource).query<SagaRow & { seq: string }>(q.text, q.values);
    return rows.map((r) => ({ ...toInstance(r, []), seq: Number(r.seq) }));
  }
}

function toInstance<S>(r: SagaRow, timeouts: SagaTimeoutInfo[]): SagaInstance<S> {
  return {
    id: r.id,
    name: r.saga_name,
    correlationId: r.correlation_id,
    status: r.status as SagaStatus,
    state: r.state as S,
    version: r.version,
    reason: r.reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    timeouts,
  };
}

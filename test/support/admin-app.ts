import type { INestApplication } from '@nestjs/common';
import { NonRetryableError, OutboxService, type FlowbusOptions, type OutboxMessage } from 'nestjs-flowbus';
import { FlowbusAdminModule, type FlowbusAdminOptions } from 'nestjs-flowbus/admin';
import { waitFor } from 'nestjs-flowbus/testing';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { createFlowbusApp, type FlowbusAppOptions } from './app.js';
import { RecordingDestination } from './recording-destination.js';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

/** A sink that rejects (as non-retryable: dead-lettered at once) while `reject` is true. */
export class SwitchableSink extends RecordingDestination {
  reject = false;

  /** No breaker, and a minute of backoff after a retryable failure, unless overridden. */
  constructor(overrides: ConstructorParameters<typeof RecordingDestination>[0] = {}) {
    super({ circuitBreaker: false, backoff: { initialMs: 60_000, jitter: 'none' }, ...overrides });
    this.failWith = (m) =>
      this.reject || (m.payload as { poison?: boolean } | null)?.poison
        ? new NonRetryableError(`rejected ${m.type}`)
        : undefined;
  }
}

/** An app with the admin API on (token mode unless `admin` says otherwise), relay polling fast. */
export async function createAdminApp(
  dataSource: DataSource,
  options: Omit<FlowbusOptions, 'dataSource'> & { admin?: FlowbusAdminOptions } = {},
  setup: Omit<FlowbusAppOptions, 'dataSource' | 'options'> = {},
): Promise<INestApplication> {
  const { admin, ...flowbus } = options;
  return createFlowbusApp({
    dataSource,
    ...setup,
    imports: [FlowbusAdminModule.forRoot({ token: ADMIN_TOKEN, ...admin }), ...(setup.imports ?? [])],
    options: { ...flowbus, relay: { pollIntervalMs: 50, listen: false, ...flowbus.relay } },
  });
}

/** supertest bound to the admin prefix, sending the bearer token unless told otherwise. */
export function adminApi(app: INestApplication, opts: { token?: string | null; prefix?: string } = {}) {
  const server = app.getHttpServer();
  const prefix = opts.prefix ?? '/flowbus';
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  const auth = <T extends request.Test>(t: T): T =>
    token === null ? t : (t.set('Authorization', `Bearer ${token}`) as T);
  return {
    get: (path: string) => auth(request(server).get(prefix + path)),
    post: (path: string, body?: string | object) => {
      const t = auth(request(server).post(prefix + path));
      return body === undefined ? t : t.send(body);
    },
    delete: (path: string) => auth(request(server).delete(prefix + path)),
  };
}

export async function enqueue(app: INestApplication, messages: OutboxMessage | OutboxMessage[]): Promise<string[]> {
  const outbox = app.get(OutboxService);
  return outbox.transaction((m) => outbox.enqueue(m, messages));
}

/** Real dead letters: enqueued to `destination`, rejected by the relay, moved with their history. */
export async function deadLetters(
  app: INestApplication,
  ds: DataSource,
  messages: Omit<OutboxMessage, 'destination'>[],
  destination = 'sink',
): Promise<string[]> {
  const ids = await enqueue(
    app,
    messages.map((m) => ({ ...m, destination, payload: { ...(m.payload as object), poison: true } })),
  );
  await waitFor(
    async () =>
      Number((await ds.query('SELECT count(*) AS n FROM flowbus_dead_letter WHERE id = ANY($1)', [ids]))[0].n) ===
      ids.length,
    {
      message: `${ids.length} dead letter(s)`,
    },
  );
  return ids;
}

/** Row counts and a checksum of every Flowbus table: equal before and after means nothing changed. */
export async function snapshot(ds: DataSource): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['flowbus_outbox', 'flowbus_dead_letter', 'flowbus_inbox', 'flowbus_saga', 'flowbus_saga_timeout']) {
    const [row] = await ds.query(
      `SELECT count(*) AS n, md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) AS sum FROM ${t} x`,
    );
    out[t] = `${row.n}:${row.sum}`;
  }
  return out;
}

export async function truncateAll(ds: DataSource): Promise<void> {
  await ds.query(
    'TRUNCATE flowbus_outbox, flowbus_dead_letter, flowbus_inbox, flowbus_saga, flowbus_saga_timeout, flowbus_log, flowbus_cursor, flowbus_tick',
  );
}

/**
 * Marks a message's row leased by a relay of another instance (`owner`) until `until`. The
 * message must wait in `flowbus_outbox` (e.g. `availableAt` in the future): on the log storage
 * the relay parks it there once it reads it, so this waits for the row first.
 */
export async function leaseElsewhere(ds: DataSource, id: string, owner: string, until: Date): Promise<void> {
  await waitFor(
    async () =>
      (
        await ds.query(
          'WITH u AS (UPDATE flowbus_outbox SET locked_until = $2, lock_owner = $3 WHERE id = $1 RETURNING id) SELECT * FROM u',
          [id, until, owner],
        )
      ).length === 1,
    { message: `row ${id} in flowbus_outbox` },
  );
}

/** Inserts a saga instance (and optional timeouts) directly, as the saga engine would have. */
export async function insertSaga(
  ds: DataSource,
  s: {
    name: string;
    correlationId: string;
    status?: string;
    state?: object;
    timeouts?: { type: string; dueAt: Date; payload?: object }[];
  },
): Promise<void> {
  await ds.query(
    `INSERT INTO flowbus_saga (saga_name, correlation_id, status, state, finished_at)
     VALUES ($1, $2, $3, $4::jsonb, CASE WHEN $3 IN ('completed', 'compensated', 'failed') THEN now() END)`,
    [s.name, s.correlationId, s.status ?? 'running', JSON.stringify(s.state ?? {})],
  );
  for (const t of s.timeouts ?? []) {
    await ds.query(
      `INSERT INTO flowbus_saga_timeout (saga_name, correlation_id, timeout_type, token, payload, due_at)
       VALUES ($1, $2, $3, gen_random_uuid(), $4::jsonb, $5)`,
      [s.name, s.correlationId, t.type, JSON.stringify(t.payload ?? {}), t.dueAt],
    );
  }
}

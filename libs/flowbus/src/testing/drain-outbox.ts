import type { INestApplicationContext } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DurableHandlerRegistry } from '../bus/durable-handler-registry.js';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { LOCAL_DESTINATION } from '../options/resolve-options.js';
import { table } from '../database/sql-identifiers.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { OutboxRelay } from '../relay/outbox-relay.js';
import { RelaySignal } from '../outbox/relay-signal.js';

/**
 * Waits until the app's relay has delivered every outbox row that is due now, including rows
 * written by the handlers and saga steps it ran meanwhile (chains). Rows waiting for a retry
 * later than now, for a destination this app does not relay, or for a durable subscriber this
 * app does not have (another app's), are not waited for.
 *
 * @example
 * await request(app.getHttpServer()).post('/orders').send(order);
 * await drainOutbox(app);
 * expect(await sagas.find('order-fulfillment', id)).toMatchObject({ status: 'completed' });
 */
export async function drainOutbox(app: INestApplicationContext, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const relay = app.get(OutboxRelay);
  const signal = app.get(RelaySignal);
  const dataSource = app.get<DataSource>(FLOWBUS_DATA_SOURCE);
  const resolved = app.get<ResolvedOptions>(FLOWBUS_RESOLVED_OPTIONS);
  const destinations = [...resolved.destinations.keys()];
  const local = app.get(DurableHandlerRegistry).pairs();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Log storage: every subscriber's cursor past what was committed before this round.
    await relay.whenLogDrained(Math.max(0, deadline - Date.now()));
    await relay.whenIdle(Math.max(0, deadline - Date.now()));
    const [row] = await dataSource.query(
      `SELECT count(*)::int AS n FROM ${table(resolved.schema, 'flowbus_outbox')}
       WHERE delivered_at IS NULL AND destination = ANY($2::text[]) AND (next_attempt_at <= $1 OR lock_owner = $3)
         AND (destination <> $4 OR (type, subscriber) IN (SELECT * FROM unnest($5::text[], $6::text[])))`,
      // Rows this relay leased count too: a claim can be committed before its deliveries start.
      [new Date(resolved.clock.now()), destinations, relay.owner, LOCAL_DESTINATION, local.types, local.names],
    );
    if (row.n === 0 && (await relay.whenIdle(0))) return;
    if (Date.now() > deadline)
      throw new Error(`drainOutbox: ${row.n} due outbox row(s) still undelivered after ${timeoutMs} ms`);
    signal.wake();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

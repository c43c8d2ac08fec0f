import { Inject, Injectable, Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE } from '../constants.js';
import { describeError } from '../errors/handler-failures.error.js';
import { poolOf } from '../database/pg-pool.js';

const RECONNECT_MS = 1000;

/**
 * Holds one pooled connection in LISTEN on the outbox channel and calls `onNotify` for every
 * notification. A lost connection is replaced after a second; meanwhile the fallback poll keeps
 * the relay going.
 */
@Injectable()
export class NotifyListener {
  private readonly logger = new Logger('Flowbus:Listener');
  private client: PoolClient | undefined;
  private stopped = true;
  private retry: NodeJS.Timeout | undefined;

  constructor(@Inject(FLOWBUS_DATA_SOURCE) private readonly dataSource: DataSource) {}

  async start(channel: string, onNotify: () => void): Promise<void> {
    this.stopped = false;
    await this.connect(channel, onNotify);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('notification');
      client.release();
    }
  }

  private async connect(channel: string, onNotify: () => void): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await poolOf(this.dataSource).connect();
      client.on('notification', (n) => {
        if (n.channel === channel) onNotify();
      });
      client.on('error', (error) => this.lost(client!, channel, onNotify, error));
      await client.query(`LISTEN "${channel}"`);
      if (this.stopped) return client.release();
      this.client = client;
    } catch (error) {
      if (client) client.release(error as Error);
      this.scheduleReconnect(channel, onNotify, error);
    }
  }

  private lost(client: PoolClient, channel: string, onNotify: () => void, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(error as Error);
    this.scheduleReconnect(channel, onNotify, error);
  }

  private scheduleReconnect(channel: string, onNotify: () => void, error: unknown): void {
    if (this.stopped) return;
    this.logger.warn(
      `LISTEN connection lost (${describeError(error)}); reconnecting in ${RECONNECT_MS} ms, polling meanwhile`,
    );
    this.retry = setTimeout(() => void this.connect(channel, onNotify), RECONNECT_MS);
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { describeError } from '../errors/handler-failures.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';
import { FlowbusTelemetry } from '../telemetry/flowbus-telemetry.js';
import { ReceivedStore } from './received-store.js';
import { SourcePump } from './source-pump.js';

/**
 * Runs the configured sources: starts consuming at bootstrap (after discovery, so every durable
 * subscriber is known) and, on shutdown, stops receiving first, then stores and acknowledges what
 * it holds (up to `relay.shutdownTimeoutMs`), then closes the connections.
 */
@Injectable()
export class SourceRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flowbus:Sources');
  private readonly pumps = new Map<string, SourcePump>();
  private lastSweep = performance.now();
  private sweeping: Promise<unknown> | undefined;

  constructor(
    @Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly store: ReceivedStore,
    private readonly telemetry: FlowbusTelemetry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const [name, source] of this.options.sources) {
      const pump = new SourcePump(name, source, this.store, this.logger, () => this.maybeSweep(), this.telemetry);
      this.pumps.set(name, pump);
      await source.start(pump, this.logger);
      this.logger.log(`Source "${name}": ${source.description}`);
    }
  }

  /** The sources of this instance paused by flow control (`maxBacklog`), for "why is it stalled?". */
  paused(): { source: string; since: number; backlog: number; maxBacklog: number; waiting: number }[] {
    return [...this.pumps].flatMap(([source, pump]) => {
      const p = pump.pause;
      return p ? [{ source, ...p }] : [];
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    const entries = [...this.pumps];
    this.pumps.clear();
    await Promise.all(
      entries.map(([name]) => this.quietly(name, 'stop', () => this.options.sources.get(name)!.stop())),
    );
    const { shutdownTimeoutMs } = this.options.relay;
    await Promise.all(entries.map(([, pump]) => pump.drain(shutdownTimeoutMs)));
    await Promise.all(
      entries.map(([name]) => this.quietly(name, 'close', () => this.options.sources.get(name)!.close())),
    );
    await this.sweeping;
  }

  private async quietly(name: string, what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.warn(`Source "${name}": ${what} failed: ${describeError(error)}`);
    }
  }

  /** Forgets received ids past the deduplication window (`relay.retentionMs`), now and then. */
  private maybeSweep(): void {
    if (this.sweeping || performance.now() - this.lastSweep < this.options.relay.retentionIntervalMs) return;
    this.lastSweep = performance.now();
    this.sweeping = this.store
      .sweep()
      .catch((error: unknown) => this.logger.warn(`Sweeping received message ids failed: ${describeError(error)}`))
      .finally(() => (this.sweeping = undefined));
  }
}

import type { Logger } from '@nestjs/common';
import { describeError } from '../errors/handler-failures.error.js';
import type { FlowbusTelemetry } from '../telemetry/flowbus-telemetry.js';
import { checkMapped } from './message-mapping.js';
import type { ReceivedStore } from './received-store.js';
import type { ReceivedMessage } from './received-message.interface.js';
import { retryDelay, sleep } from './sleep.js';
import type { Inbound, Source, SourceReceiver } from './source.interface.js';

/** How often held messages are reported as still in progress (NATS's ack wait is 30 s by default). */
const WORKING_EVERY_MS = 10_000;
/** How often a paused source looks at its backlog again. */
const BACKLOG_POLL_MS = 200;

/**
 * Takes what one source receives and stores it in batches: map, store in one transaction, then
 * acknowledge (or reject to the broker's dead letters). One batch at a time; while it commits,
 * the next one gathers. Stops taking batches while the source's local backlog is past its bound.
 */
export class SourcePump implements SourceReceiver {
  private buffer: Inbound[] = [];
  private loop: Promise<void> | undefined;
  private scheduled = false;
  private readonly abandon = new AbortController();
  /** Backlog at the last count, plus what was stored since: counted again once it could pass the bound. */
  private backlogEstimate = 0;
  private paused = false;
  private pausedSince = 0;
  private lastWorking = performance.now();

  constructor(
    private readonly name: string,
    private readonly source: Source,
    private readonly store: ReceivedStore,
    private readonly logger: Logger,
    private readonly afterBatch: () => void,
    private readonly telemetry?: FlowbusTelemetry,
  ) {}

  /** Paused by flow control: since when (epoch ms) and the backlog last counted; undefined when not. */
  get pause(): { since: number; backlog: number; maxBacklog: number; waiting: number } | undefined {
    if (!this.paused) return undefined;
    return {
      since: this.pausedSince,
      backlog: this.backlogEstimate,
      maxBacklog: this.source.maxBacklog,
      waiting: this.buffer.length,
    };
  }

  push(message: Inbound): void {
    this.buffer.push(message);
    this.kick();
  }

  private kick(): void {
    if (this.loop || this.scheduled || this.buffer.length === 0 || this.abandon.signal.aborted) return;
    // Wait for the rest of what arrived with this message (one socket read) before storing.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.loop ??= this.run().finally(() => {
        this.loop = undefined;
        // A message pushed while the loop was finishing would wait for the next one otherwise.
        this.kick();
      });
    });
  }

  /** Waits until everything received was settled, at most `timeoutMs`; then gives up the rest. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = sleep(timeoutMs, this.abandon.signal).then(() => 'timeout' as const);
    while (this.loop || this.scheduled) {
      if ((await Promise.race([this.loop ?? sleep(1, this.abandon.signal), deadline])) === 'timeout') break;
    }
    const left = this.buffer.length;
    this.abandon.abort();
    await this.loop;
    if (left > 0)
      this.logger.warn(`Source "${this.name}": ${left} message(s) not stored by shutdown go back to the broker`);
  }

  private async run(): Promise<void> {
    while (this.buffer.length > 0 && !this.abandon.signal.aborted) {
      await this.waitForRoom();
      if (this.abandon.signal.aborted) return;
      const batch = this.buffer.splice(0, this.source.batchSize);
      await this.settle(batch);
    }
  }

  /** Maps, stores and settles one batch; retries the store while the database fails. */
  private async settle(batch: Inbound[]): Promise<void> {
    const kept: Inbound[] = [];
    const messages: ReceivedMessage[] = [];
    for (const inbound of batch) {
      let message: ReceivedMessage | null;
      try {
        message = checkMapped(inbound.map());
      } catch (error) {
        this.logger.warn(`Source "${this.name}": rejected a message that cannot be mapped: ${describeError(error)}`);
        inbound.reject(describeError(error));
        continue;
      }
      if (message === null) inbound.ack();
      else {
        kept.push(inbound);
        messages.push(message);
      }
    }
    if (kept.length === 0) return;
    const spans = this.telemetry?.received(
      { name: this.name, system: this.source.system, address: this.source.address },
      messages,
    );
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await this.store.store(this.name, messages);
        outcomes.forEach((outcome, i) => {
          if (outcome.kind === 'refused') {
            this.logger.warn(
              `Source "${this.name}": rejected message ${messages[i]!.id} (${messages[i]!.type}): ${outcome.reason}`,
            );
            kept[i]!.reject(outcome.reason);
          } else {
            kept[i]!.ack();
            if (outcome.kind === 'stored') this.backlogEstimate++;
          }
          spans?.end(i, outcome.kind, outcome.kind === 'refused' ? outcome.reason : undefined);
        });
        this.afterBatch();
        return;
      } catch (error) {
        this.logger.warn(
          `Source "${this.name}": storing ${messages.length} message(s) failed (attempt ${attempt}), retrying: ${describeError(error)}`,
        );
        await this.hold(retryDelay(attempt), kept);
        // Given up at shutdown: unacknowledged, the broker delivers them again.
        if (this.abandon.signal.aborted) {
          messages.forEach((_, i) => spans?.end(i, 'failure', describeError(error)));
          return;
        }
      }
    }
  }

  /** Flow control: while the local backlog is past `maxBacklog`, take nothing until half of it drained. */
  private async waitForRoom(): Promise<void> {
    const max = this.source.maxBacklog;
    if (this.backlogEstimate < max) return;
    for (;;) {
      let count: number;
      try {
        count = await this.store.backlog(this.name, max + 1);
      } catch (error) {
        this.logger.warn(`Source "${this.name}": counting the backlog failed: ${describeError(error)}`);
        count = max;
      }
      this.backlogEstimate = count;
      if (this.paused ? count <= max / 2 : count < max) break;
      if (!this.paused) {
        this.paused = true;
        this.pausedSince = Date.now();
        this.logger.log(`Source "${this.name}": paused, ${count} received message(s) wait for local delivery`);
      }
      await this.hold(BACKLOG_POLL_MS, this.buffer);
      if (this.abandon.signal.aborted) return;
    }
    if (this.paused) {
      this.paused = false;
      this.logger.log(`Source "${this.name}": resumed, backlog down to ${this.backlogEstimate}`);
    }
  }

  /** Sleeps, keeping the broker from redelivering the messages held meanwhile. */
  private async hold(ms: number, held: readonly Inbound[]): Promise<void> {
    await sleep(ms, this.abandon.signal);
    if (performance.now() - this.lastWorking < WORKING_EVERY_MS) return;
    this.lastWorking = performance.now();
    for (const inbound of held) inbound.working();
    if (held !== this.buffer) for (const inbound of this.buffer) inbound.working();
  }
}

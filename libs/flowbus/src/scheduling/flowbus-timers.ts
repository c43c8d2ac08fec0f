import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { describeError } from '../errors/handler-failures.error.js';

/** What Flowbus needs of `SchedulerRegistry` (`@nestjs/schedule`). */
type IntervalRegistry = Pick<SchedulerRegistry, 'addInterval' | 'deleteInterval' | 'doesExist'>;

/**
 * Owns Flowbus's interval timers (the relay's fallback poll, the timeout scheduler's poll, the
 * retention sweep). When the app has a `SchedulerRegistry` (it imported `ScheduleModule.forRoot()`),
 * they are registered there under their names, where Nest users look for timers; otherwise they are
 * plain Node intervals. Flowbus never imports `ScheduleModule.forRoot()` itself: a second
 * `forRoot()` in one app starts every `@Interval`/`@Cron` job of the app twice.
 *
 * `@nestjs/schedule` is an optional peer: it is imported only here, lazily, so the core loads
 * without it. The registry is looked up at the first `add` (in `onApplicationBootstrap`, once
 * every provider exists), not injected, because its class is the injection token and a static
 * import would make the package mandatory.
 *
 * @internal
 */
@Injectable()
export class FlowbusTimers {
  private readonly logger = new Logger('Flowbus:Timers');
  private lookup: Promise<IntervalRegistry | undefined> | undefined;
  private registry: IntervalRegistry | undefined;
  /** Intervals this class created, by name, whichever owner holds them. */
  private readonly own = new Map<string, { timer: NodeJS.Timeout; registered: boolean }>();

  constructor(private readonly moduleRef: ModuleRef) {}

  /** Starts `tick` every `ms` under `name`; returns where it was registered. */
  async addInterval(name: string, ms: number, tick: () => void): Promise<'scheduler-registry' | 'plain'> {
    this.removeInterval(name);
    const registry = (this.registry = await (this.lookup ??= this.findRegistry()));
    const timer = setInterval(tick, ms);
    if (registry) {
      try {
        registry.addInterval(name, timer);
        this.own.set(name, { timer, registered: true });
        return 'scheduler-registry';
      } catch (error) {
        // A name already taken (e.g. two Flowbus modules in one app): keep it running unregistered.
        this.logger.warn(`Could not register interval "${name}" in SchedulerRegistry: ${describeError(error)}`);
      }
    }
    this.own.set(name, { timer, registered: false });
    return 'plain';
  }

  /** Stops and unregisters the interval `name`, if this class started it. */
  removeInterval(name: string): void {
    const entry = this.own.get(name);
    if (!entry) return;
    this.own.delete(name);
    clearInterval(entry.timer);
    if (entry.registered && this.registry?.doesExist('interval', name)) this.registry.deleteInterval(name);
  }

  private async findRegistry(): Promise<IntervalRegistry | undefined> {
    let registryClass: typeof SchedulerRegistry;
    try {
      registryClass = (await import('@nestjs/schedule')).SchedulerRegistry;
    } catch {
      return undefined; // not installed: plain timers
    }
    try {
      return this.moduleRef.get(registryClass, { strict: false });
    } catch {
      return undefined; // installed, but the app did not import ScheduleModule.forRoot()
    }
  }
}

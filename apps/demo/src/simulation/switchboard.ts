import { Inject, Injectable, Logger } from '@nestjs/common';
import { DEMO_OPTIONS, type ResolvedDemoOptions } from '../demo-options.js';

export const SERVICES = ['payment', 'inventory', 'shipping'] as const;
export type SimulatedService = (typeof SERVICES)[number];

/**
 * - `ok`: answers at once with success;
 * - `fail`: answers with a business failure (PaymentFailed, InventoryFailed, ShipmentFailed);
 * - `slow`: waits `delayMs`, then answers like `ok`;
 * - `down`: does not answer (throws, or HTTP 503): the relay retries with backoff.
 */
export const MODES = ['ok', 'fail', 'slow', 'down'] as const;
export type SimulationMode = (typeof MODES)[number];

export interface SwitchState {
  mode: SimulationMode;
  /** Delay of `slow`, in milliseconds. */
  delayMs: number;
  /** Calls the service received (retries included). */
  calls: number;
  /** Calls refused because the service was `down`. */
  refused: number;
}

/** The service is switched `down`: the caller (the relay) must retry later. */
export class SimulatedOutageError extends Error {
  constructor(readonly service: SimulatedService) {
    super(`${service} service is down (simulated outage)`);
    this.name = 'SimulatedOutageError';
  }
}

/** The switches of the simulated services. In memory: a restart sets every switch back to `ok`. */
@Injectable()
export class Switchboard {
  private readonly logger = new Logger('Simulation');
  private readonly switches: Record<SimulatedService, SwitchState>;

  constructor(@Inject(DEMO_OPTIONS) private readonly options: ResolvedDemoOptions) {
    const initial = (): SwitchState => ({ mode: 'ok', delayMs: options.slowDelayMs, calls: 0, refused: 0 });
    this.switches = { payment: initial(), inventory: initial(), shipping: initial() };
  }

  all(): Record<SimulatedService, SwitchState> {
    return structuredClone(this.switches);
  }

  set(service: SimulatedService, mode: SimulationMode, delayMs?: number): SwitchState {
    const s = this.switches[service];
    s.mode = mode;
    s.delayMs = delayMs ?? this.options.slowDelayMs;
    this.logger.log(`${service} service switched to "${mode}"${mode === 'slow' ? ` (${s.delayMs} ms)` : ''}`);
    return { ...s };
  }

  /**
   * Plays one call to `service` by its switch: throws `SimulatedOutageError` when down, waits when
   * slow, and tells whether to answer with success or with a business failure.
   */
  async call(service: SimulatedService): Promise<'ok' | 'fail'> {
    const s = this.switches[service];
    s.calls++;
    if (s.mode === 'down') {
      s.refused++;
      throw new SimulatedOutageError(service);
    }
    if (s.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, s.delayMs));
    return s.mode === 'fail' ? 'fail' : 'ok';
  }
}

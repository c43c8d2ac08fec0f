import type * as OtelApi from '@opentelemetry/api';

export type { OtelApi };

/**
 * `@opentelemetry/api` when it is installed and `telemetry.enabled` is on, else undefined: an optional peer, loaded once with a
 * dynamic import so the core neither needs it nor pays for it. Without an SDK registered the API
 * hands out no-op tracers and meters, which cost a few calls per message.
 */
export function loadOtelApi(options: { telemetry: { enabled: boolean } }): Promise<typeof OtelApi | undefined> {
  if (!options.telemetry.enabled) return Promise.resolve(undefined);
  return (loading ??= load());
}

let loading: Promise<typeof OtelApi | undefined> | undefined;

async function load(): Promise<typeof OtelApi | undefined> {
  try {
    const api = (await import('@opentelemetry/api')) as typeof OtelApi & { default?: typeof OtelApi };
    return typeof api.trace?.getTracer === 'function' ? api : api.default;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

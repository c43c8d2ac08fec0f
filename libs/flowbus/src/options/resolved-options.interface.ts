import type { DataSource } from 'typeorm';
import type { PayloadSerializer } from '../outbox/payload-serializer.interface.js';
import type { Destination } from '../relay/destination.interface.js';
import type { Source } from '../sources/source.interface.js';
import type { Clock } from './clock.js';

export interface ResolvedBackoff {
  initialMs: number;
  factor: number;
  maxMs: number;
  jitter: 'full' | 'equal' | 'none';
}

export interface ResolvedBreaker {
  timeoutMs: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
  initialResetTimeoutMs: number;
  resetTimeoutRatio: number;
  consecutiveFailures: number;
  volumeThreshold: number;
  rollingCountTimeoutMs: number;
}

export interface ResolvedDestination {
  name: string;
  /** Undefined for `local`, whose delivery the relay does itself. */
  destination?: Destination;
  maxAttempts: number;
  backoff: ResolvedBackoff;
  circuitBreaker: ResolvedBreaker | false;
}

/** Options after defaults were merged and every field validated. */
export interface ResolvedOptions {
  dataSource?: DataSource;
  schema: string;
  migrationsRun: boolean;
  bus: { propagateHandlerExceptions: boolean; logHandlerExceptions: boolean; handlerTimeoutMs?: number };
  relay: {
    enabled: boolean;
    pollIntervalMs: number;
    batchSize: number;
    leaseMs: number;
    maxAttempts: number;
    backoff: ResolvedBackoff;
    concurrency: number;
    shutdownTimeoutMs: number;
    retentionMs: number;
    retentionIntervalMs: number;
    retentionBatchSize: number;
    notify: boolean;
    listen: boolean;
    storage: 'table' | 'log';
  };
  destinations: ReadonlyMap<string, ResolvedDestination>;
  routes: readonly { eventType: string; destination: string }[];
  sources: ReadonlyMap<string, Source>;
  circuitBreaker: ResolvedBreaker;
  timeouts: { enabled: boolean; pollIntervalMs: number; batchSize: number };
  telemetry: { enabled: boolean };
  clock: Clock;
  serializer: PayloadSerializer;
}

/** Thresholds of `FlowbusHealthIndicator.isHealthy`. */
export interface FlowbusHealthOptions {
  /**
   * The relay counts as stalled when its loop has not turned for this many poll intervals
   * (`relay.pollIntervalMs`); it turns at least once per interval while alive.
   * @default 5
   */
  relayStalledAfterPolls?: number;
  /**
   * Down when the oldest undelivered message is older than this (ms); `false` turns the check off.
   * @default 900000 (15 minutes)
   */
  maxOldestPendingAgeMs?: number | false;
  /**
   * Down while a destination's circuit breaker is open; `false` only reports them.
   * @default true
   */
  failOnOpenBreaker?: boolean;
}

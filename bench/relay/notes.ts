/** Fixed notes printed under the relay section: what the figures need to be read right. */
export const RELAY_NOTES: readonly string[] = [
  'Library changes made with this bench (2026-11-22, this machine; before → after):',
  '',
  '- Claims no longer fall into a bad plan. When the outbox statistics are missing (a fresh database) or ' +
    'stale (analysed while everything was delivered, then a burst), PostgreSQL believes the due set is tiny and ' +
    'answers every claim with a bitmap scan that sorts every due row: ~150–300 ms per 100-row claim with a ' +
    "100k–180k backlog. While claims come back full, the relay now asks for the claim's plan once a second " +
    '(`EXPLAIN`, planned only) and, while it would sort, claims in a short transaction with `SET LOCAL ' +
    'enable_sort = off, enable_bitmapscan = off` (the due index, walked in order). End to end with 100-row ' +
    'producers on a fresh database: 0.9–1.1k → 10.9–12.2k rows/s delivered; draining 20k rows without ' +
    'statistics: 12.8–15.7k → 30.1–40.7k rows/s (in-process A/B, plan pinned 97–98% of the time); with fresh ' +
    'statistics unchanged (23.4–38.8k vs 28.5–37.6k, never pinned). Pinning always would cost ~19% (two more ' +
    'round trips per claim); an earlier timing-based switch pinned on busy moments and was dropped. The drain ' +
    'table seeds with ANALYZE, so it shows the case where the old claim was fine; end to end runs on a fresh ' +
    'table, without statistics until autovacuum gets to it.',
  '- `OutboxService.enqueue`: error field names are built only when a check fails, rows without object ' +
    'spreads, and the INSERT text is cached per schema and row count. JavaScript cost of a one-message ' +
    'enqueue (no database) 4.7–5.2 µs → 1.1–1.5 µs; Node CPU per single-row transaction above the plain ' +
    'INSERT ~6–9 µs → ~3 µs; enqueue ÷ plain INSERT with 4 clients 79–92% → 91–101% over the runs before and after.',
  '- `relay.notify: true`: the `pg_notify` rides on the INSERT (`WITH inserted AS (INSERT …) SELECT ' +
    'pg_notify(…)`) instead of a second statement, one round trip less per producing transaction. Same-process ' +
    'A/B in 250 ms slices: 1 client 4.6–5.0k → 5.1–5.7k tx/s, 4 clients 6.5–6.9k → 7.5–7.7k tx/s, Node CPU per ' +
    'transaction 10–17 µs less.',
  '- Circuit breakers are created with `rollingPercentilesEnabled: false, enableSnapshots: false` (Flowbus reads ' +
    'counts only). With percentiles on, opossum concatenates and sorts every latency of its 10 s window whenever ' +
    'its stats are read: on every failure, and every second for snapshots. At ~29k deliveries/s: one stats read ' +
    '14 ms → 0 ms, 20 failures after a full window 312 ms → 0.7 ms of blocked event loop, breaker CPU −20%. ' +
    'The drain figures did not move measurably.',
  '',
  'Reading the figures:',
  '',
  '- PostgreSQL is the limit of the drain, not the relay process: in a 100k-row drain the relay process is ~70% ' +
    'idle and socket writes are its largest cost. Flowbus keeps delivered rows (retention, admin API), so each ' +
    'row costs two non-HOT updates — the claim writes the lease into the indexed `next_attempt_at`, delivery sets ' +
    '`delivered_at` — each adding entries to three indexes; graphile-worker deletes a completed job. Even the ' +
    'hand-written loop with prepared statements is only ~1.3× graphile-worker here, so 1.7× is out of reach for ' +
    'this table design on this machine; deleting on delivery (the "delete" row) is what the ceiling gains most from.',
  '- Prepared (named) statements are worth ~15% to the hand-written loop, but named statements break PgBouncer ' +
    'in transaction pooling mode (before 1.21), so the relay does not use them.',
  '- With the defaults (`batchSize` 100, `concurrency` 50) a claim takes at most as many rows as are free of ' +
    'the concurrency bound, 50: see the "concurrency 50" row next to "concurrency 100".',
  "- graphile-worker: localQueue sizes 11 (its docs' starting point, concurrency + 1), 100 and 500 were tried " +
    'against the Flowbus relay in the same runs: 11 is about half as fast, 500 no faster than 100.',
  '- pg-boss 10 waits its polling interval (0.5 s minimum) after every fetch, even a full one, so its rate is ' +
    'workers × batchSize / 0.5 s until the database limits it: 50 workers of 100 is the "tuned" configuration ' +
    '(≈ the 9k jobs/s of issue 3); with 2,500-job batches it fetches the backlog in a few statements and is among ' +
    'the fastest here.',
  '- Memory: V8 collects the old generation lazily, so in some runs RSS climbs steadily until the first full ' +
    'collection and then settles lower; in others it stays flat. The drain with a full collection before each ' +
    'sample shows what is live, which is what would grow with a leak.',
  '- End to end, producers and relay share two cores and one PostgreSQL: with 100-row producer transactions ' +
    'the producers write faster than one relay delivers and the backlog grows, so "rows/s delivered" is the ' +
    "relay's rate under that load.",
];

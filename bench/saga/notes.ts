/** Fixed notes printed under the saga section. */
export const SAGA_NOTES: readonly string[] = [
  '- The steps target on the log storage (2026-12-01). The no-op drain used to insert its rows into ' +
    '`flowbus_outbox` by SQL, which on the log storage holds only retries: it measured the retry path ' +
    '(3.5k rows/s). It now enqueues through `OutboxService`, so each storage gets its rows its own way, and ' +
    "the steps run 10,000 instances (was 1,000: 0.3 s rounds, mostly the three hops' latency). The target " +
    "reads missed since the log became the default, because the relay's no-op rate rose about 4.5× while the " +
    'saga steps rose about 1.5×. Same machine, minutes apart, `--only steps --passes 3` with ' +
    '`FLOWBUS_BENCH_STORAGE=table`: 8.2k steps/s vs 26.7k rows/s = 1/3.25; the log run above: 12.6k steps/s ' +
    'vs 121k rows/s = 1/9.6. Each step writes an inbox row, its instance and the next outbox row, and a ' +
    'no-op delivery on the log writes nothing per row.',
  '- Durable steps, before and after batching (2026-11-26). Before, each delivery was a transaction of its ' +
    'own, 8 statements per step (BEGIN, inbox INSERT, SAVEPOINT, load, save, outbox INSERT, RELEASE, COMMIT): ' +
    '1.2k steps/s (936–1.4k) against a no-op relay at 20.4k rows/s, 1/16. Now the `local` destination hands ' +
    'a saga the deliveries of one claim together (up to 100 per transaction) and the transaction is 4 round ' +
    'trips: BEGIN; the inbox rows and the instances in one statement; the steps in memory; one statement of ' +
    'data-modifying CTEs for the instances (with version checks), timeouts and the outbox rows they ' +
    'published; COMMIT. A step that touches `ctx.manager` gets a savepoint of its own, the others need none; a ' +
    'version conflict reruns the whole transaction with the rows locked. The relay also claims once half a ' +
    'batch is free while draining, and pins the claim plan in the claim message itself. Socket writes are ' +
    "~45% of the Node process's CPU here (each statement costs a syscall that wakes PostgreSQL), so round " +
    'trips per step are what moved the figure; batches of 100 beat 50 in alternating runs (1/2.56 and 1/2.88 ' +
    'against 1/3.33 and 1/3.19). The ratio moves ±15% from run to run on this machine (1/2.6 to 1/3.5 today ' +
    'for batches of 50), so one run can land on either side of 3×. ' +
    'A lower fillfactor on `flowbus_saga` (HOT updates) was tried and made no difference beyond the noise.',
  '- Timeout lateness, before and after (2026-11-26): the scheduler fired what was due at each poll and ' +
    'then slept until the next one, so a timeout scheduled more than a poll interval ahead fired up to ' +
    '`pollIntervalMs` late (p50 890 ms, p99 1354 ms with 10,000 timeouts). Now, after each round, it looks ' +
    "up the next due timeout and sets an alarm for it, and fires a saga's timeouts in transactions of up to " +
    '25 (4 at once) instead of one transaction per timeout, which keeps up with 2,000 timeouts falling due ' +
    'per second.',
];

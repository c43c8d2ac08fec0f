/** Fixed notes printed under the saga section. */
export const SAGA_NOTES: readonly string[] = [
  '- Durable steps, before and after batching (2026-11-26). Before, each delivery was a transaction of its ' +
    'own, 8 statements per step (BEGIN, inbox INSERT, SAVEPOINT, load, save, outbox INSERT, RELEASE, COMMIT): ' +
    '1.2k steps/s (936–1.4k) against a no-op relay at 20.4k rows/s, 1/16. Now the `local` destination hands ' +
    'a saga the deliveries of one claim together (up to 50 per transaction): one inbox INSERT, one ' +
    'load of every instance (locking them only on a rerun after a version conflict), the steps in memory, then one UPDATE and one INSERT for the instances and one ' +
    'outbox INSERT for what they published — about 10 statements per 50 steps; a step that touches ' +
    '`ctx.manager` gets a savepoint of its own, the others need none. The Node process now mostly waits ' +
    '(CPU profile: ~64% idle during the run) while PostgreSQL uses the rest of the 2 cores: per step it ' +
    'writes an inbox row, a new version of the instance row and an outbox row on top of the claim and the ' +
    'mark every relayed row costs, so the remaining gap to the no-op relay is row writes in PostgreSQL. ' +
    'A lower fillfactor on `flowbus_saga` (HOT updates) was tried and made no difference beyond the noise.',
  '- Timeout lateness, before and after (2026-11-26): the scheduler fired what was due at each poll and ' +
    'then slept until the next one, so a timeout scheduled more than a poll interval ahead fired up to ' +
    '`pollIntervalMs` late (p50 890 ms, p99 1354 ms with 10,000 timeouts). Now, after each round, it looks ' +
    "up the next due timeout and sets an alarm for it, and fires a saga's timeouts in transactions of up to " +
    '25 (4 at once) instead of one transaction per timeout, which keeps up with 2,000 timeouts falling due ' +
    'per second.',
];

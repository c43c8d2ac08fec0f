/** Fixed notes printed under the saga section. */
export const SAGA_NOTES: readonly string[] = [
  '- A durable step is one transaction of 8 statements (BEGIN, inbox INSERT, SAVEPOINT, load, save, outbox ' +
    'INSERT of the next event, RELEASE, COMMIT; the last step deletes the timeouts too) where the no-op relay ' +
    'spends 2 statements per 100 rows, so a ratio near 3× is out of reach on this machine: the steps are ' +
    'CPU-bound, socket-write syscalls being the largest cost in the Node process. Dropping the RELEASE SAVEPOINT ' +
    '(a plain savepoint left for COMMIT) was tried and made no measurable difference (A/B, 2,000 chains × 3 ' +
    'runs each: 3.5–4.2 s either way), so it was not kept.',
  '- A timeout due later than one poll interval after it was scheduled waits for the next poll, so lateness is ' +
    'spread over 0–`pollIntervalMs` plus the firing time; the scheduler fires with 8 transactions at once.',
];

import { afterEach, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HandlerDeadlines, type DeadlineEntry } from './handler-deadlines.js';

class Entry implements DeadlineEntry {
  deadline = 0;
  listed = false;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  readonly startedAt = performance.now();
  expiredAt: number | undefined;

  onDeadline(): void {
    this.expiredAt = performance.now();
  }
}

/** Waits (up to 5 s) until `entry` expired: timers fire late on a busy machine, never early. */
async function expired(entry: Entry): Promise<number> {
  for (let waited = 0; entry.expiredAt === undefined && waited < 5000; waited += 10) await sleep(10);
  expect(entry.expiredAt).toBeDefined();
  return entry.expiredAt! - entry.startedAt;
}

const refedTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

let deadlines: HandlerDeadlines;

afterEach(() => deadlines.dispose());

describe('HandlerDeadlines', () => {
  it('expires a running entry after its timeout, never before', async () => {
    deadlines = new HandlerDeadlines(40);
    const entry = new Entry();
    deadlines.watch(entry);
    expect(await expired(entry)).toBeGreaterThanOrEqual(40);
    expect(entry.listed).toBe(false);
  });

  it('leaves alone the entries released in time, stamped or not', async () => {
    deadlines = new HandlerDeadlines(300);
    const quick = new Entry();
    const slower = new Entry();
    deadlines.watch(quick);
    deadlines.watch(slower);
    deadlines.release(quick);
    await sleep(10);
    deadlines.release(slower);
    await sleep(400);
    expect(quick.expiredAt).toBeUndefined();
    expect(slower.expiredAt).toBeUndefined();
  });

  it('expires entries started at different times each after its own timeout', async () => {
    deadlines = new HandlerDeadlines(200);
    const entries: Entry[] = [];
    for (let i = 0; i < 3; i++) {
      const entry = new Entry();
      deadlines.watch(entry);
      entries.push(entry);
      await sleep(20);
    }
    const released = new Entry();
    deadlines.watch(released);
    await sleep(5);
    deadlines.release(released);
    for (const entry of entries) {
      const after = await expired(entry);
      expect(after).toBeGreaterThanOrEqual(200);
      // Late by the stamp delay plus timer jitter on a busy machine, not by another timeout.
      expect(after).toBeLessThan(200 + 150);
    }
    expect(entries.map((e) => e.expiredAt)).toEqual([...entries.map((e) => e.expiredAt)].sort((a, b) => a! - b!));
    expect(released.expiredAt).toBeUndefined();
  });

  it('keeps the process alive only while an entry is watched', async () => {
    deadlines = new HandlerDeadlines(10_000);
    await sleep(5);
    const idle = refedTimers();
    const entry = new Entry();
    deadlines.watch(entry);
    await sleep(10);
    expect(refedTimers()).toBeGreaterThan(idle);
    deadlines.release(entry);
    // Other code in this worker may hold a timer for a moment on a busy machine: wait (bounded)
    // for the count to come back down; a deadline timer still refed would keep it up.
    for (let waited = 0; refedTimers() > idle && waited < 1000; waited += 10) await sleep(10);
    expect(refedTimers()).toBeLessThanOrEqual(idle);
  });

  it('works again after dispose', async () => {
    deadlines = new HandlerDeadlines(20);
    const first = new Entry();
    deadlines.watch(first);
    deadlines.release(first);
    deadlines.dispose();
    const second = new Entry();
    deadlines.watch(second);
    expect(await expired(second)).toBeGreaterThanOrEqual(20);
  });
});

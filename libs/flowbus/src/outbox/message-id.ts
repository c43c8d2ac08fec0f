import { randomFillSync } from 'node:crypto';

const POOL_IDS = 256;
const pool = Buffer.alloc(POOL_IDS * 10);
let next = POOL_IDS;
const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A new message id: a version 7 UUID (RFC 9562), the millisecond time in its first 48 bits then
 * 74 random bits. Ids written close in time sort close together, so the outbox and inbox primary
 * key indexes grow at their right edge and a batch of claimed rows touches a few index pages,
 * where random (version 4) ids land all over the index.
 */
export function messageId(now = Date.now()): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const r = next++ * 10;
  // 48-bit time split in two so that no bitwise operation sees more than 32 bits.
  const high = Math.floor(now / 0x1000000);
  const low = now % 0x1000000;
  return (
    hex[(high >>> 16) & 0xff]! +
    hex[(high >>> 8) & 0xff]! +
    hex[high & 0xff]! +
    hex[(low >>> 16) & 0xff]! +
    '-' +
    hex[(low >>> 8) & 0xff]! +
    hex[low & 0xff]! +
    '-' +
    hex[0x70 | (pool[r]! & 0x0f)]! +
    hex[pool[r + 1]!]! +
    '-' +
    hex[0x80 | (pool[r + 2]! & 0x3f)]! +
    hex[pool[r + 3]!]! +
    '-' +
    hex[pool[r + 4]!]! +
    hex[pool[r + 5]!]! +
    hex[pool[r + 6]!]! +
    hex[pool[r + 7]!]! +
    hex[pool[r + 8]!]! +
    hex[pool[r + 9]!]!
  );
}

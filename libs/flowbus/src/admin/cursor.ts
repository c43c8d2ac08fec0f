/**
 * Opaque page cursors: base64url of `<list>:<seq>`. The list prefix makes a cursor of one list
 * invalid on another instead of silently paging from an unrelated position.
 */
export type CursorList = 'outbox' | 'dead-letters' | 'sagas' | 'outbox-retries';

/**
 * `outbox-retries`: on the log storage, `GET /outbox` lists after the log's rows the retry rows
 * whose log row is gone; their seq is of another sequence, so their cursor is of its own kind.
 */
const PREFIX: Record<CursorList, string> = { outbox: 'o', 'dead-letters': 'd', sagas: 's', 'outbox-retries': 'r' };
const BASE64URL = /^[A-Za-z0-9_-]{1,64}$/;
const INT8_MAX = 9223372036854775807n;

export function encodeCursor(list: CursorList, seq: string): string {
  return Buffer.from(`${PREFIX[list]}:${seq}`).toString('base64url');
}

/** The seq a cursor stands for, or `undefined` when it is not a cursor of `list`. */
export function decodeCursor(list: CursorList, cursor: string): string | undefined {
  if (!BASE64URL.test(cursor)) return undefined;
  const match = /^([odsr]):([1-9][0-9]{0,18})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match || match[1] !== PREFIX[list] || BigInt(match[2]!) > INT8_MAX) return undefined;
  return match[2];
}

/**
 * SQLSTATE classes of errors that say nothing about the statement: the connection or the server
 * failed (08 connection exception, 53 insufficient resources, 57 operator intervention such as an
 * admin shutdown, 58 system error), or the statement lost a race (40 transaction rollback).
 */
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '57', '58']);

/**
 * Whether `error` is worth retrying the same statement for: the database could not be reached or
 * went away, as opposed to rejecting the statement itself (a constraint, bad data), which would
 * fail again however often it is retried.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // Errors raised by the server carry a five-character SQLSTATE; socket errors carry node codes
  // (ECONNREFUSED, ECONNRESET ...) or none ("Connection terminated unexpectedly").
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return TRANSIENT_CLASSES.has(code.slice(0, 2));
}

import { describeError } from '../errors/handler-failures.error.js';

const MAX_MESSAGE = 2000;
const MAX_STACK = 4000;

/** One failed attempt as kept in a row's `errors` history. */
export interface ErrorEntry {
  attempt: number;
  at: string;
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/** Builds the history entry and the one-line `last_error` of a failed attempt. */
export function errorEntry(error: unknown, attempt: number, at: Date): { entry: ErrorEntry; summary: string } {
  const name = error instanceof Error ? error.name : typeof error;
  const message = describeError(error).slice(0, MAX_MESSAGE);
  const code = (error as { code?: unknown } | null)?.code;
  const entry: ErrorEntry = { attempt, at: at.toISOString(), name, message };
  if (typeof code === 'string' || typeof code === 'number') entry.code = String(code);
  if (error instanceof Error && error.stack) entry.stack = error.stack.slice(0, MAX_STACK);
  return { entry, summary: `${name}: ${message}` };
}

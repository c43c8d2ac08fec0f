import { NonRetryableError } from '../../errors/non-retryable.error.js';
import { DeliveryError } from '../../errors/delivery.error.js';

const SNIPPET_BYTES = 512;
/** Statuses outside 5xx that say "try again later" rather than "this request is wrong". */
const RETRYABLE = new Set([408, 429]);

/**
 * Settles a delivery from the answer: 2xx resolves; 408, 429 and 5xx throw a `DeliveryError`
 * (retried); any other status throws a `NonRetryableError` (dead-lettered at once). Errors name
 * the status and the start of the body, which is where receivers explain a refusal.
 */
export async function classifyResponse(response: Response, request: string, timeoutMs: number): Promise<void> {
  const { status } = response;
  if (status >= 200 && status < 300) {
    // Frees the connection for the next delivery without reading a body nobody needs.
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  const snippet = await bodySnippet(response).catch(
    (error: unknown) => `(body unreadable: ${describeFetchError(error, timeoutMs)})`,
  );
  const location = status >= 300 && status < 400 ? ` to ${response.headers.get('location') ?? '(no Location)'}` : '';
  const answer = `${request} answered ${status}${response.statusText ? ` ${response.statusText}` : ''}${location}${snippet ? `: ${snippet}` : ''}`;
  const error = new DeliveryError(answer, { status });
  if (status >= 500 || RETRYABLE.has(status)) throw error;
  throw new NonRetryableError(answer, { cause: error });
}

/** What went wrong with a request that got no answer, in words an operator can act on. */
export function describeFetchError(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED …) in `cause`.
  const message = messageOf(error);
  const detail = messageOf((error as { cause?: unknown } | null)?.cause);
  return `failed: ${message}${detail && detail !== message ? ` (${detail})` : ''}`;
}

/**
 * Message (or code) of an error-like value. Duck-typed: fetch's errors come from Node's own realm,
 * where `instanceof Error` of another realm (Jest's VM contexts) is false.
 */
function messageOf(error: unknown): string {
  if (error === undefined || error === null) return '';
  const { message, code } = error as { message?: unknown; code?: unknown };
  if (typeof message === 'string' && message !== '') return message;
  return typeof code === 'string' ? code : String(error);
}

async function bodySnippet(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // The rest of the body is not needed; a failed cancel only means the stream already ended.
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8');
  return text.replace(/\s+/g, ' ').trim() + (size > SNIPPET_BYTES ? '…' : '');
}

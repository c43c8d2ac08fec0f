import type { DestinationOverrides } from './destination-overrides.js';

/**
 * Options of `httpDestination()`: each message is POSTed as JSON to `url`.
 *
 * The body is `{ id, type, key, payload, headers, createdAt }` (`createdAt` as an ISO string).
 * Request headers: your `headers`, then `Content-Type: application/json`,
 * `Idempotency-Key: <message id>`, `X-Flowbus-Message-Id`, `X-Flowbus-Type`, `X-Flowbus-Attempt`
 * (1 for the first delivery), `X-Flowbus-Key` when the message has a key, and every message
 * header `name` as `X-Flowbus-Header-<name>` (also in the body's `headers`).
 *
 * Answers: 2xx delivered; 408, 429, 5xx, a network error or a timeout are retried with backoff;
 * any other status (3xx, 4xx) dead-letters the message at once (`NonRetryableError`).
 */
export interface HttpDestinationOptions extends DestinationOverrides {
  /**
   * Absolute `http:` or `https:` URL the messages are POSTed to. Credentials in it
   * (`https://user:pass@host/…`) are sent as `Authorization: Basic`. Errors recorded in the dead
   * letters show the URL without credentials and query string.
   */
  url: string;
  /**
   * Extra request headers, e.g. `Authorization`. They may not set `Content-Type`,
   * `Idempotency-Key` or `X-Flowbus-*`, which Flowbus owns.
   * @default {}
   */
  headers?: Record<string, string>;
  /**
   * A request (answer and body included) slower than this fails and is retried.
   * @default 10000
   */
  timeoutMs?: number;
}

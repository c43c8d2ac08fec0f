import { NonRetryableError } from '../../errors/non-retryable.error.js';
import type { DeliveryMessage, Destination } from '../destination.interface.js';
import { DeliveryError } from '../../errors/delivery.error.js';
import type { HttpDestinationOptions } from './http-destination-options.interface.js';
import { classifyResponse, describeFetchError } from './http-response.js';
import { HEADER_NAME, resolveHttpOptions, type ResolvedHttpOptions } from './resolve-http-options.js';
import { TRACEPARENT_HEADER, TRACESTATE_HEADER } from '../../telemetry/message-scope.js';

const MESSAGE_HEADER_PREFIX = 'X-Flowbus-Header-';

/**
 * A destination that POSTs each message as JSON to an HTTP endpoint (a webhook). The message id
 * is sent as `Idempotency-Key`: a redelivery (at least once) carries the same key, so the
 * receiver can drop duplicates. See `HttpDestinationOptions` for the request format.
 *
 * @example
 * FlowbusModule.forRoot({
 *   destinations: {
 *     billing: httpDestination({
 *       url: 'https://billing.internal/hooks/orders',
 *       headers: { Authorization: `Bearer ${process.env.BILLING_TOKEN}` },
 *       timeoutMs: 5000,
 *       maxAttempts: 20,
 *     }),
 *   },
 * });
 */
export function httpDestination(options: HttpDestinationOptions): Destination {
  return new HttpDestination(resolveHttpOptions(options));
}

const TRACE_HEADERS = [TRACEPARENT_HEADER, TRACESTATE_HEADER];

class HttpDestination implements Destination {
  readonly maxAttempts?: Destination['maxAttempts'];
  readonly backoff?: Destination['backoff'];
  readonly circuitBreaker?: Destination['circuitBreaker'];

  constructor(private readonly o: ResolvedHttpOptions) {
    Object.assign(this, o.overrides);
  }

  async deliver(message: DeliveryMessage): Promise<void> {
    const { url, shownUrl, timeoutMs } = this.o;
    const headers = this.requestHeaders(message);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(envelope(message)),
        // A POST must not silently turn into a GET (301/302): a redirect is an answer like any other.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = describeFetchError(error, timeoutMs).replaceAll(url.href, shownUrl);
      throw new DeliveryError(`POST ${shownUrl} ${reason}`, { cause: error });
    }
    await classifyResponse(response, `POST ${shownUrl}`, timeoutMs);
  }

  private requestHeaders(message: DeliveryMessage): Headers {
    const headers = new Headers({ 'User-Agent': 'nestjs-flowbus', ...this.o.headers });
    headers.set('Content-Type', 'application/json');
    headers.set('Idempotency-Key', message.id);
    headers.set('X-Flowbus-Message-Id', message.id);
    headers.set('X-Flowbus-Type', message.type);
    headers.set('X-Flowbus-Attempt', String(message.attempts + 1));
    if (message.key !== null) setOrFail(headers, 'X-Flowbus-Key', message.key, 'The message key');
    for (const [name, value] of Object.entries(message.headers)) {
      // Retrying cannot make a header name or value valid: dead-letter with the reason.
      if (!HEADER_NAME.test(name)) {
        throw new NonRetryableError(`Message header name "${name}" cannot be sent as an HTTP header`);
      }
      setOrFail(headers, MESSAGE_HEADER_PREFIX + name, value, `Message header "${name}"`);
    }
    // The W3C trace context travels under its own names, so the receiver's tracing picks it up.
    for (const name of TRACE_HEADERS) {
      const value = message.headers[name];
      if (value !== undefined) setOrFail(headers, name, value, `Message header "${name}"`);
    }
    return headers;
  }
}

/** The JSON body of a request. */
function envelope(m: DeliveryMessage) {
  return {
    id: m.id,
    type: m.type,
    key: m.key,
    payload: m.payload,
    headers: m.headers,
    createdAt: m.createdAt.toISOString(),
  };
}

function setOrFail(headers: Headers, name: string, value: string, what: string): void {
  try {
    headers.set(name, value);
  } catch (error) {
    const reason = (error as { message?: unknown } | null)?.message;
    throw new NonRetryableError(`${what} cannot be sent as an HTTP header: ${String(reason)}`, { cause: error });
  }
}

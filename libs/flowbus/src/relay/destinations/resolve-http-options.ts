import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import { num, onlyKnownKeys, section, typeName } from '../../options/option-readers.js';
import { OVERRIDE_KEYS, overridesOf, type DestinationOverrides } from './destination-overrides.js';
import type { HttpDestinationOptions } from './http-destination-options.interface.js';

const FIELD = 'httpDestination';
/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED = /^(content-type|idempotency-key|x-flowbus-.*)$/i;

export interface ResolvedHttpOptions {
  /** Without credentials: `fetch` refuses them, they travel as `Authorization` instead. */
  url: URL;
  /** The URL as it may appear in logs and errors: no credentials, no query string. */
  shownUrl: string;
  headers: Readonly<Record<string, string>>;
  timeoutMs: number;
  overrides: DestinationOverrides;
}

/** Validates `httpDestination()` options when the destination is created, naming the bad field. */
export function resolveHttpOptions(options: HttpDestinationOptions): ResolvedHttpOptions {
  const o = section(options, FIELD);
  onlyKnownKeys(o, FIELD, ['url', 'headers', 'timeoutMs', ...OVERRIDE_KEYS]);
  const url = httpUrl(o.url);
  const headers = userHeaders(o.headers);
  const auth = basicAuth(url);
  if (auth && Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
    throw new InvalidOptionsError(
      `${FIELD}.headers.Authorization`,
      `conflicts with the credentials in ${FIELD}.url; give one of them`,
    );
  }
  return {
    url,
    shownUrl: `${url.protocol}//${url.host}${url.pathname}`,
    headers: auth ? { ...headers, Authorization: auth } : headers,
    timeoutMs: num(o.timeoutMs, `${FIELD}.timeoutMs`, 10_000, { min: 1, max: 2_147_483_647, integer: true }),
    overrides: overridesOf(options),
  };
}

function httpUrl(value: unknown): URL {
  const field = `${FIELD}.url`;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionsError(field, `must be an absolute http(s) URL, got ${typeName(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // new URL() says only "Invalid URL"; the rule says more. The value is left out: it may hold a password.
    throw new InvalidOptionsError(field, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionsError(field, `must use http: or https:, got "${url.protocol}"`);
  }
  return url;
}

/**
 * `fetch` refuses URLs with credentials; `https://user:pass@host/` means Basic auth to everyone
 * who used curl, so that is what it becomes. Strips them from `url`.
 */
function basicAuth(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

function userHeaders(value: unknown): Record<string, string> {
  const field = `${FIELD}.headers`;
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(section(value, field))) {
    if (!HEADER_NAME.test(name)) throw new InvalidOptionsError(`${field}.${name}`, 'is not a valid HTTP header name');
    if (RESERVED.test(name)) {
      throw new InvalidOptionsError(
        `${field}.${name}`,
        'is set by Flowbus (Content-Type, Idempotency-Key, X-Flowbus-*)',
      );
    }
    // The value is not quoted back: header values are where secrets live.
    if (typeof v !== 'string') throw new InvalidOptionsError(`${field}.${name}`, `must be a string, got ${typeof v}`);
    if (/[\r\n\0]/.test(v)) throw new InvalidOptionsError(`${field}.${name}`, 'must not contain CR, LF or NUL');
    headers[name] = v;
  }
  return headers;
}

/**
 * The hostile requests of the admin scenario: each a method, a path under the admin prefix,
 * headers and an optional body, built from the families issue 11 lists. None of them is a valid
 * operation: together they must leave the tables as they were.
 */
export interface HostileRequest {
  family: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Sent without valid credentials: any 2xx is a breach. */
  anonymous: boolean;
}

const ROUTES = [
  'stats',
  'outbox',
  'outbox/00000000-0000-4000-8000-000000000001',
  'outbox/00000000-0000-4000-8000-000000000001/retry',
  'dead-letters',
  'dead-letters/requeue',
  'dead-letters/00000000-0000-4000-8000-000000000001',
  'dead-letters/00000000-0000-4000-8000-000000000001/requeue',
  'sagas',
  'sagas/storm/x',
  'breakers',
  'subscribers/local%3Anobody',
];
const WRITE = new Set(['dead-letters/requeue', 'outbox/00000000-0000-4000-8000-000000000001/retry']);

const ODD = [
  '\u0000',
  'a\u0000b',
  '%00',
  "' OR '1'='1",
  "'; DROP TABLE flowbus_outbox; --",
  '1; DELETE FROM flowbus_dead_letter',
  '$1',
  '\\',
  '"',
  '<script>alert(1)</script>',
  '%F0%9F%92%A5',
  '\u202e\u0301\ufeff',
  '💥'.repeat(200),
  '%ED%A0%80',
  '%C0%AF',
  '%FF',
  'x'.repeat(10_000),
  '../../../../etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '{"$gt":""}',
  '[]',
  'null',
  'NaN',
  '-1',
  '1e309',
];

function nested(depth: number): string {
  return `{"ids":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
}

/** Every hostile request, `token` being the valid admin token. */
export function hostileRequests(token: string): HostileRequest[] {
  const out: HostileRequest[] = [];
  const auth = { authorization: `Bearer ${token}` };
  const json = { ...auth, 'content-type': 'application/json' };

  // Credentials: missing, malformed or wrong, on every route and method that exists.
  const badAuth: Record<string, string>[] = [
    {},
    { authorization: '' },
    { authorization: 'Bearer' },
    { authorization: 'Bearer ' },
    { authorization: `Bearer ${token.slice(0, -1)}` },
    { authorization: `Bearer ${token}x` },
    { authorization: `Bearer ${token.toUpperCase()}` },
    { authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` },
    { authorization: `Token ${token}` },
    { authorization: `Bearer  ${token}x` },
    { authorization: `Bearer ${'a'.repeat(8000)}` },
    { authorization: `Bearer ${encodeURIComponent('\u00e9') + token}` },
    { 'x-flowbus-token': token },
    { cookie: `token=${token}` },
  ];
  for (const headers of badAuth) {
    for (const route of ROUTES) {
      const methods = WRITE.has(route) || route.endsWith('/requeue') ? ['POST'] : ['GET'];
      if (route.startsWith('dead-letters/0')) methods.push('DELETE');
      if (route.startsWith('subscribers/')) methods.splice(0, 1, 'DELETE');
      for (const method of methods) {
        out.push({
          family: 'auth',
          method,
          path: route,
          headers: { ...headers, 'content-type': 'application/json' },
          body: method === 'POST' ? '{"ids":["00000000-0000-4000-8000-000000000001"]}' : undefined,
          anonymous: true,
        });
      }
    }
  }
  // Credentials in the query string are not credentials.
  for (const route of ROUTES) {
    out.push({ family: 'auth', method: 'GET', path: `${route}?token=${token}`, headers: {}, anonymous: true });
  }

  // Traversal and path tricks, with and without the token.
  const traversal = [
    '../',
    '..%2f',
    '%2e%2e/',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    'outbox/..%2f..%2f..%2fetc%2fpasswd',
    'outbox/../../../etc/passwd',
    'dead-letters/%2e%2e',
    'sagas/..%2f/..%2f',
    'sagas/%00/%00',
    'sagas/a%2Fb/c',
    '//stats',
    'stats/',
    'stats/..',
    'STATS',
    'outbox/%',
    'outbox/%zz',
    './stats',
    'outbox;x=1',
    'stats%00.json',
  ];
  for (const p of traversal) {
    out.push({ family: 'traversal', method: 'GET', path: p, headers: auth, anonymous: false });
    out.push({ family: 'traversal', method: 'GET', path: p, headers: {}, anonymous: true });
  }

  // Methods no route has.
  for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'POST', 'PROPFIND']) {
    for (const route of ROUTES) {
      if (method === 'DELETE' && route.startsWith('dead-letters/0') && !route.endsWith('requeue')) continue;
      if (method === 'DELETE' && route.startsWith('subscribers/')) continue;
      if (method === 'POST' && (WRITE.has(route) || route.endsWith('/requeue'))) continue;
      out.push({ family: 'method', method, path: route, headers: json, body: '{}', anonymous: false });
    }
  }

  // Bodies: huge, deeply nested, prototype keys, wrong types, not JSON.
  const bodies = [
    nested(5000),
    nested(1000),
    nested(100),
    `{"ids":[${Array.from({ length: 200_000 }, () => '"00000000-0000-4000-8000-000000000001"').join(',')}]}`,
    `{"ids":["${'a'.repeat(2_000_000)}"]}`,
    '{"__proto__":{"admin":true},"ids":["00000000-0000-4000-8000-000000000001"]}',
    '{"constructor":{"prototype":{"x":1}},"destination":"sink"}',
    '{"ids":[]}',
    '{}',
    '{"ids":null}',
    '{"ids":"00000000-0000-4000-8000-000000000001"}',
    '{"ids":[1,2,3]}',
    '{"ids":[{"$ne":null}]}',
    '{"destination":""}',
    '{"destination":{"$ne":null}}',
    '{"type":["a"]}',
    '{"ids":["\u0000"]}',
    '{"destination":"\u0000"}',
    '[]',
    'null',
    '"ids"',
    '{"ids":[',
    '\u0000',
    '{"ids":["00000000-0000-4000-8000-000000000001"],"ids":["x"]}',
  ];
  for (const body of bodies) {
    out.push({ family: 'body', method: 'POST', path: 'dead-letters/requeue', headers: json, body, anonymous: false });
    out.push({
      family: 'body',
      method: 'POST',
      path: 'dead-letters/00000000-0000-4000-8000-000000000001/requeue',
      headers: json,
      body,
      anonymous: false,
    });
  }
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    out.push({
      family: 'body',
      method: 'POST',
      path: 'dead-letters/requeue',
      headers: { ...auth, 'content-type': type },
      body: 'ids=1&ids[__proto__]=2',
      anonymous: false,
    });
  }

  // Odd parameters: in every filter, cursor and limit, and as path ids and saga names.
  for (const value of ODD) {
    // Values starting with % are sent as they are (already encoded, some on purpose invalid UTF-8).
    const q = value.startsWith('%') ? value : encodeURIComponent(value);
    for (const list of ['outbox', 'dead-letters', 'sagas']) {
      for (const field of ['status', 'destination', 'type', 'name', 'cursor', 'limit']) {
        out.push({ family: 'params', method: 'GET', path: `${list}?${field}=${q}`, headers: auth, anonymous: false });
      }
    }
    for (const route of ['outbox/', 'dead-letters/', 'sagas/storm/', 'sagas/']) {
      out.push({
        family: 'params',
        method: 'GET',
        path: route === 'sagas/' ? `sagas/${q}/${q}` : route + q,
        headers: auth,
        anonymous: false,
      });
    }
    out.push({ family: 'params', method: 'POST', path: `dead-letters/${q}/requeue`, headers: auth, anonymous: false });
    out.push({ family: 'params', method: 'DELETE', path: `dead-letters/${q}`, headers: auth, anonymous: false });
    out.push({ family: 'params', method: 'DELETE', path: `subscribers/${q}`, headers: auth, anonymous: false });
    out.push({ family: 'params', method: 'DELETE', path: `subscribers/local%3A${q}`, headers: auth, anonymous: false });
    out.push({ family: 'params', method: 'POST', path: `outbox/${q}/retry`, headers: auth, anonymous: false });
  }

  // Cursors and limits that are not what the API handed out.
  const cursors = [
    '',
    'abc',
    '0',
    '-1',
    'eyJ4IjoxfQ',
    'eyJzZXEiOiIxOyBEUk9QIFRBQkxFIHgifQ',
    '%FF%FE',
    'a'.repeat(5000),
  ];
  const limits = ['0', '-5', '1.5', '1e3', '99999999999999999999', 'abc', '', '201', '1001', '0x10', ' 5'];
  for (const list of ['outbox', 'dead-letters', 'sagas']) {
    for (const c of cursors) {
      out.push({
        family: 'paging',
        method: 'GET',
        path: `${list}?cursor=${encodeURIComponent(c)}`,
        headers: auth,
        anonymous: false,
      });
    }
    for (const l of limits) {
      out.push({
        family: 'paging',
        method: 'GET',
        path: `${list}?limit=${encodeURIComponent(l)}`,
        headers: auth,
        anonymous: false,
      });
    }
    out.push({ family: 'paging', method: 'GET', path: `${list}?limit=1&limit=2`, headers: auth, anonymous: false });
    out.push({ family: 'paging', method: 'GET', path: `${list}?cursor=a&cursor=b`, headers: auth, anonymous: false });
    out.push({
      family: 'paging',
      method: 'GET',
      path: `${list}?status[]=x&type[a]=b`,
      headers: auth,
      anonymous: false,
    });
  }
  return out;
}

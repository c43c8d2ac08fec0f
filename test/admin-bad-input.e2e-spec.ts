import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { drainOutbox, waitFor } from 'nestjs-flowbus/testing';
import type { DataSource } from 'typeorm';
import { ADMIN_TOKEN, createAdminApp, enqueue, insertSaga, snapshot, SwitchableSink } from './support/admin-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * Malformed requests against the admin API: each gets its documented 4xx, none a 500, and none
 * changes a row. The relay is off so that nothing else moves the data meanwhile.
 */

interface Case {
  name: string;
  method: 'get' | 'post' | 'delete' | 'put' | 'patch';
  path: string;
  /** An object is sent as JSON; a string as-is with `type`. */
  body?: string | object;
  type?: string;
  headers?: Record<string, string>;
  /** Bearer token to send; null sends none. Default: the right one. */
  token?: string | null;
  status: number;
  message?: RegExp;
}

const UNKNOWN = '5f0c7b6e-9a43-4d55-8f11-2f6b1d7e0a9c';
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const many = (n: number) =>
  Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

const CASES: Case[] = [
  // ids
  { name: 'id not a uuid', method: 'get', path: '/outbox/not-a-uuid', status: 400, message: /^id must be a UUID$/ },
  { name: 'id a number', method: 'get', path: '/outbox/123', status: 400, message: /id must be a UUID/ },
  {
    name: 'id one digit short',
    method: 'get',
    path: '/outbox/3b241101-e2bb-4255-8caf-4136c566a96',
    status: 400,
    message: /id must be a UUID/,
  },
  {
    name: 'id with a trailing char',
    method: 'get',
    path: '/dead-letters/3b241101-e2bb-4255-8caf-4136c566a962z',
    status: 400,
    message: /id must be a UUID/,
  },
  {
    name: 'id non-hex',
    method: 'post',
    path: '/outbox/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz/retry',
    status: 400,
    message: /id must be a UUID/,
  },
  {
    name: 'id SQL injection',
    method: 'get',
    path: `/dead-letters/${encodeURIComponent("' OR '1'='1")}`,
    status: 400,
    message: /id must be a UUID/,
  },
  {
    name: 'id SQL drop on requeue',
    method: 'post',
    path: `/dead-letters/${encodeURIComponent('1;DROP TABLE flowbus_outbox;--')}/requeue`,
    status: 400,
    message: /id must be a UUID/,
  },
  {
    name: 'id NUL byte on delete',
    method: 'delete',
    path: '/dead-letters/%00',
    status: 400,
    message: /id must be a UUID/,
  },
  {
    name: '"requeue" read as an id',
    method: 'get',
    path: '/dead-letters/requeue',
    status: 400,
    message: /id must be a UUID/,
  },
  // unknown ids
  { name: 'unknown outbox id', method: 'get', path: `/outbox/${UNKNOWN}`, status: 404, message: /No outbox message/ },
  { name: 'retry of an unknown id', method: 'post', path: `/outbox/${UNKNOWN}/retry`, status: 404 },
  {
    name: 'unknown dead letter',
    method: 'get',
    path: `/dead-letters/${UNKNOWN}`,
    status: 404,
    message: /No dead letter/,
  },
  { name: 'requeue of an unknown id', method: 'post', path: `/dead-letters/${UNKNOWN}/requeue`, status: 404 },
  { name: 'delete of an unknown id', method: 'delete', path: `/dead-letters/${UNKNOWN}`, status: 404 },
  { name: 'unknown saga', method: 'get', path: '/sagas/order/nope', status: 404, message: /No saga instance/ },
  // subscriber names (DELETE /subscribers/:name)
  {
    name: 'subscriber without a prefix',
    method: 'delete',
    path: '/subscribers/audit',
    status: 400,
    message: /^name must be a subscriber as GET \/stats lists it/,
  },
  {
    name: 'subscriber prefix only',
    method: 'delete',
    path: '/subscribers/local%3A',
    status: 400,
    message: /^name must/,
  },
  { name: 'subscriber with NUL', method: 'delete', path: '/subscribers/local%3Aa%00b', status: 400, message: /NUL/ },
  {
    name: 'subscriber name too long',
    method: 'delete',
    path: `/subscribers/destination%3A${'x'.repeat(501)}`,
    status: 400,
    message: /1 to 500 characters/,
  },
  {
    name: 'subscriber SQL injection',
    method: 'delete',
    path: `/subscribers/${encodeURIComponent("local:' OR '1'='1")}`,
    status: 404,
    message: /No subscriber/,
  },
  { name: 'unknown subscriber', method: 'delete', path: '/subscribers/local%3Anobody', status: 404 },
  { name: 'GET on a subscriber', method: 'get', path: '/subscribers/local%3Anobody', status: 404 },
  // limit
  { name: 'limit 0', method: 'get', path: '/outbox?limit=0', status: 400, message: /limit must not be less than 1/ },
  {
    name: 'limit negative',
    method: 'get',
    path: '/dead-letters?limit=-5',
    status: 400,
    message: /limit must not be less than 1/,
  },
  {
    name: 'limit above 500',
    method: 'get',
    path: '/sagas?limit=501',
    status: 400,
    message: /limit must not be greater than 500/,
  },
  { name: 'limit huge', method: 'get', path: '/outbox?limit=99999999999999999999', status: 400, message: /limit/ },
  {
    name: 'limit non-numeric',
    method: 'get',
    path: '/outbox?limit=abc',
    status: 400,
    message: /limit must be an integer number/,
  },
  {
    name: 'limit fractional',
    method: 'get',
    path: '/outbox?limit=1.5',
    status: 400,
    message: /limit must be an integer number/,
  },
  { name: 'limit empty', method: 'get', path: '/outbox?limit=', status: 400, message: /limit/ },
  {
    name: 'limit hex',
    method: 'get',
    path: '/outbox?limit=0x10',
    status: 400,
    message: /limit must be an integer number/,
  },
  {
    name: 'limit exponent',
    method: 'get',
    path: '/outbox?limit=1e2',
    status: 400,
    message: /limit must be an integer number/,
  },
  { name: 'limit twice', method: 'get', path: '/outbox?limit=1&limit=2', status: 400, message: /limit/ },
  // status
  {
    name: 'unknown outbox status',
    method: 'get',
    path: '/outbox?status=dead',
    status: 400,
    message: /status must be one of: pending, in-flight, delivered/,
  },
  {
    name: 'status in capitals',
    method: 'get',
    path: '/outbox?status=PENDING',
    status: 400,
    message: /status must be one of/,
  },
  {
    name: 'unknown saga status',
    method: 'get',
    path: '/sagas?status=sleeping',
    status: 400,
    message: /status must be one of: running, completed/,
  },
  { name: 'status as an array', method: 'get', path: '/outbox?status[]=pending', status: 400 },
  // cursor
  {
    name: 'cursor garbage',
    method: 'get',
    path: '/outbox?cursor=garbage!!',
    status: 400,
    message: /cursor is not a cursor of the outbox list/,
  },
  {
    name: 'cursor not a number',
    method: 'get',
    path: `/outbox?cursor=${b64('o:abc')}`,
    status: 400,
    message: /cursor/,
  },
  {
    name: 'cursor of another list',
    method: 'get',
    path: `/outbox?cursor=${b64('d:12')}`,
    status: 400,
    message: /cursor is not a cursor of the outbox list/,
  },
  {
    name: 'cursor beyond bigint',
    method: 'get',
    path: `/dead-letters?cursor=${b64('d:99999999999999999999')}`,
    status: 400,
    message: /cursor/,
  },
  { name: 'cursor negative', method: 'get', path: `/sagas?cursor=${b64('s:-1')}`, status: 400, message: /cursor/ },
  {
    name: 'cursor with SQL',
    method: 'get',
    path: `/sagas?cursor=${b64('s:1 OR 1=1')}`,
    status: 400,
    message: /cursor/,
  },
  { name: 'cursor NUL', method: 'get', path: '/sagas?cursor=%00', status: 400, message: /cursor/ },
  // text filters
  {
    name: 'SQL in destination filter (parameterised: no match)',
    method: 'get',
    path: `/outbox?destination=${encodeURIComponent("' OR 1=1 --")}`,
    status: 200,
  },
  {
    name: 'SQL in type filter (parameterised: no match)',
    method: 'get',
    path: `/dead-letters?type=${encodeURIComponent("x'; DELETE FROM flowbus_dead_letter; --")}`,
    status: 200,
  },
  {
    name: 'SQL in saga name filter',
    method: 'get',
    path: `/sagas?name=${encodeURIComponent("order' UNION SELECT * FROM pg_user --")}`,
    status: 200,
  },
  {
    name: 'SQL in saga path params',
    method: 'get',
    path: `/sagas/${encodeURIComponent("' OR '1'='1")}/${encodeURIComponent("x' --")}`,
    status: 404,
  },
  {
    name: 'NUL in a filter',
    method: 'get',
    path: '/outbox?destination=a%00b',
    status: 400,
    message: /destination must not contain NUL characters/,
  },
  {
    name: 'NUL in a saga path param',
    method: 'get',
    path: '/sagas/order/a%00b',
    status: 400,
    message: /correlationId must not contain NUL/,
  },
  {
    name: 'correlation id too long',
    method: 'get',
    path: `/sagas/order/${'c'.repeat(600)}`,
    status: 400,
    message: /correlationId must be 1 to 500/,
  },
  {
    name: 'empty filter value',
    method: 'get',
    path: '/outbox?destination=',
    status: 400,
    message: /destination must be longer than or equal to 1/,
  },
  {
    name: 'filter too long',
    method: 'get',
    path: `/dead-letters?type=${'t'.repeat(201)}`,
    status: 400,
    message: /type must be shorter than or equal to 200/,
  },
  // extra fields
  {
    name: 'unknown query parameter',
    method: 'get',
    path: '/outbox?foo=bar',
    status: 400,
    message: /property foo should not exist/,
  },
  {
    name: 'token passed as a query parameter',
    method: 'get',
    path: `/stats?token=${ADMIN_TOKEN}`,
    token: null,
    status: 401,
  },
  {
    name: 'unknown body field',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { ids: [UNKNOWN], extra: 1 },
    status: 400,
    message: /property extra should not exist/,
  },
  // bulk requeue bodies
  {
    name: 'empty filter',
    method: 'post',
    path: '/dead-letters/requeue',
    body: {},
    status: 400,
    message: /ids or a filter is required/,
  },
  {
    name: 'no body at all',
    method: 'post',
    path: '/dead-letters/requeue',
    status: 400,
    message: /ids or a filter is required/,
  },
  {
    name: 'empty ids',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { ids: [] },
    status: 400,
    message: /ids should not be empty/,
  },
  {
    name: 'ids not uuids',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { ids: ['nope', 5] },
    status: 400,
    message: /each value in ids must be a UUID/,
  },
  {
    name: 'ids not an array',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { ids: UNKNOWN },
    status: 400,
    message: /ids must be an array/,
  },
  {
    name: 'too many ids',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { ids: many(501) },
    status: 400,
    message: /ids must contain no more than 500 elements/,
  },
  {
    name: 'ids and a filter',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { ids: [UNKNOWN], destination: 'sink' },
    status: 400,
    message: /cannot be combined/,
  },
  {
    name: 'filter value empty',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { destination: '' },
    status: 400,
    message: /destination must be longer/,
  },
  {
    name: 'filter value a number',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { destination: 5 },
    status: 400,
    message: /destination must be a string/,
  },
  {
    name: 'filter value an operator object',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { type: { $ne: 'x' } },
    status: 400,
    message: /type must be a string/,
  },
  {
    name: 'filter value null',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { destination: null },
    status: 400,
    message: /destination must be a string/,
  },
  {
    name: '__proto__ only',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '{"__proto__":{"destination":"sink"}}',
    type: 'application/json',
    status: 400,
    message: /^property __proto__ should not exist$/,
  },
  {
    name: '__proto__ next to a valid filter',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '{"destination":"sink","__proto__":{"type":"T"}}',
    type: 'application/json',
    status: 400,
    message: /^property __proto__ should not exist$/,
  },
  {
    name: 'constructor next to a valid filter',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '{"destination":"sink","constructor":{"prototype":{"x":1}}}',
    type: 'application/json',
    status: 400,
    message: /^property constructor should not exist$/,
  },
  {
    name: 'constructor in a query',
    method: 'get',
    path: '/dead-letters?constructor=x',
    status: 400,
    message: /^property constructor should not exist$/,
  },
  {
    name: '__proto__ in a query',
    method: 'get',
    path: '/outbox?__proto__=x',
    status: 400,
    message: /^property __proto__ should not exist$/,
  },
  {
    name: 'body nested 5,000 objects deep',
    method: 'post',
    path: '/dead-letters/requeue',
    body: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
    type: 'application/json',
    status: 400,
    message: /^request body is nested deeper than 32 levels$/,
  },
  {
    name: 'filter value nested 5,000 arrays deep',
    method: 'post',
    path: '/dead-letters/requeue',
    body: `{"destination":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    type: 'application/json',
    status: 400,
    message: /^request body is nested deeper than 32 levels$/,
  },
  {
    name: 'ids nested 5,000 objects deep',
    method: 'post',
    path: '/dead-letters/requeue',
    body: `{"ids":[${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}]}`,
    type: 'application/json',
    status: 400,
    message: /^request body is nested deeper than 32 levels$/,
  },
  {
    name: 'invalid JSON',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '{"ids": [',
    type: 'application/json',
    status: 400,
  },
  {
    name: 'JSON array body',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '["5f0c7b6e-9a43-4d55-8f11-2f6b1d7e0a9c"]',
    type: 'application/json',
    status: 400,
  },
  {
    name: 'JSON string body',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '"sink"',
    type: 'application/json',
    status: 400,
  },
  {
    name: 'oversized body',
    method: 'post',
    path: '/dead-letters/requeue',
    body: JSON.stringify({ destination: 'x'.repeat(300_000) }),
    type: 'application/json',
    status: 413,
  },
  {
    name: 'text/plain body',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '{"destination":"sink"}',
    type: 'text/plain',
    status: 415,
    message: /application\/json/,
  },
  {
    name: 'XML body',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '<ids><id>1</id></ids>',
    type: 'application/xml',
    status: 415,
  },
  {
    name: 'form body (parsed, still refused)',
    method: 'post',
    path: '/dead-letters/requeue',
    body: 'destination=sink',
    type: 'application/x-www-form-urlencoded',
    status: 415,
  },
  {
    name: 'JSON in an unsupported charset',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '{"destination":"sink"}',
    type: 'application/json; charset=latin1',
    status: 415,
  },
  {
    name: 'ids null',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { ids: null },
    status: 400,
    message: /ids must be an array/,
  },
  {
    name: 'unsupported content encoding',
    method: 'post',
    path: '/dead-letters/requeue',
    body: '{"destination":"sink"}',
    type: 'application/json',
    headers: { 'Content-Encoding': 'compress' },
    status: 415,
  },
  {
    name: 'corrupt gzip body',
    method: 'post',
    path: '/dead-letters/requeue',
    body: 'not gzip at all',
    type: 'application/json',
    headers: { 'Content-Encoding': 'gzip' },
    status: 400,
  },
  // credentials
  { name: 'missing token', method: 'get', path: '/stats', token: null, status: 401, message: /Missing credentials/ },
  {
    name: 'wrong token',
    method: 'get',
    path: '/outbox',
    token: 'wrong-token-wrong-token',
    status: 401,
    message: /Invalid bearer token/,
  },
  {
    name: 'token prefix only',
    method: 'post',
    path: `/dead-letters/${UNKNOWN}/requeue`,
    token: ADMIN_TOKEN.slice(0, 8),
    status: 401,
  },
  {
    name: 'empty bearer',
    method: 'delete',
    path: `/dead-letters/${UNKNOWN}`,
    headers: { Authorization: 'Bearer ' },
    token: null,
    status: 401,
  },
  { name: 'token followed by junk', method: 'get', path: '/sagas', token: `${ADMIN_TOKEN} junk`, status: 401 },
  {
    name: 'unauthenticated bulk requeue with a filter',
    method: 'post',
    path: '/dead-letters/requeue',
    body: { destination: 'sink' },
    token: null,
    status: 401,
  },
  // methods and paths
  { name: 'PUT on a list', method: 'put', path: '/outbox', status: 404 },
  { name: 'POST on stats', method: 'post', path: '/stats', status: 404 },
  { name: 'PATCH on a dead letter', method: 'patch', path: `/dead-letters/${UNKNOWN}`, status: 404 },
  { name: 'path traversal', method: 'get', path: '/sagas/..%2F..%2F/etc', status: 404 },
];

let db: TestDatabase;
let ds: DataSource;
let app: INestApplication;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await db.dataSource();
  const sink = new SwitchableSink();
  app = await createAdminApp(ds, { destinations: { sink } });
  // Something for every statement to (not) touch: pending and delivered messages, dead letters, sagas.
  const [delivered] = await enqueue(app, { destination: 'sink', type: 'T', payload: { i: 1 } });
  await waitFor(() => sink.ids().includes(delivered!));
  // Due in an hour: pending for the whole spec, whatever the relay does meanwhile.
  const later = new Date(Date.now() + 3_600_000);
  await enqueue(
    app,
    [2, 3, 4].map((i) => ({ destination: 'sink', type: 'T', payload: { i }, availableAt: later })),
  );
  await drainOutbox(app);
  await ds.query(`
    INSERT INTO flowbus_dead_letter (id, destination, type, payload, attempts, errors, last_error, created_at)
    SELECT gen_random_uuid(), 'sink', 'T', jsonb_build_object('i', i), 3, '[{"attempt":1}]'::jsonb, 'Error: down', now()
    FROM generate_series(1, 5) i`);
  await insertSaga(ds, {
    name: 'order',
    correlationId: 'o-1',
    timeouts: [{ type: 'PaymentTimeout', dueAt: new Date(Date.now() + 3_600_000) }],
  });
});

afterAll(async () => {
  await app?.close();
  await ds.destroy();
  await db.drop();
});

function send(c: Case): request.Test {
  let t: request.Test = request(app.getHttpServer())[c.method](`/flowbus${c.path}`);
  const token = c.token === undefined ? ADMIN_TOKEN : c.token;
  if (token !== null) t = t.set('Authorization', `Bearer ${token}`);
  for (const [k, v] of Object.entries(c.headers ?? {})) t = t.set(k, v);
  if (typeof c.body === 'string') t = t.set('Content-Type', c.type ?? 'application/json').send(c.body);
  else if (c.body !== undefined) t = t.send(c.body);
  return t;
}

describe('malformed admin requests', () => {
  it('has at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it('answers each with its documented status, never 500, and changes no row', async () => {
    const before = await snapshot(ds);
    // Every mismatch is collected, so one run shows them all.
    const wrong: string[] = [];
    for (const c of CASES) {
      const res = await send(c);
      const message = [res.body?.message].flat().join('; ');
      const got = `${res.status} ${res.headers['content-type'] ?? '-'} ${message}`;
      if (res.status !== c.status) wrong.push(`${c.name}: expected ${c.status}, got ${got}`);
      else if (c.status >= 400 && !/^application\/json/.test(res.headers['content-type'] ?? ''))
        wrong.push(`${c.name}: not JSON: ${got}`);
      else if (c.status >= 400 && res.body.statusCode !== c.status)
        wrong.push(`${c.name}: body statusCode ${res.body.statusCode}`);
      else if (c.message && !c.message.test(message))
        wrong.push(`${c.name}: message ${JSON.stringify(message)} does not match ${c.message}`);
      else if (c.status === 200 && !(Array.isArray(res.body.items) && res.body.items.length === 0))
        wrong.push(`${c.name}: expected no items`);
    }
    expect(wrong).toEqual([]);
    expect(await snapshot(ds)).toEqual(before);
  });

  it('still serves valid requests afterwards', async () => {
    const res = await request(app.getHttpServer())
      .get('/flowbus/stats')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .expect(200);
    expect(res.body.deadLetters.total).toBe(5);
    expect(res.body.outbox).toMatchObject({ pending: 3, delivered: 1 });
  });
});

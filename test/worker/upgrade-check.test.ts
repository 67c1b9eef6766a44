import type { IncomingMessage } from 'node:http';
import { checkRequestHead, checkUpgrade, parseTarget, serviceForPath } from '../../src/worker/upgrade-check';

const services = new Set(['chat', 'echo']);

/** A request as node:http parses it: `headers` with one value each, `rawHeaders` as sent (extra raw lines appended). */
function request(overrides: { method?: string; url?: string; headers?: Record<string, string | undefined>; extraRaw?: readonly string[] } = {}): IncomingMessage {
  const headers: Record<string, string | undefined> = {
    host: 'localhost',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...overrides.headers,
  };
  const rawHeaders = Object.entries(headers).flatMap(([name, value]) => (value === undefined ? [] : [name, value]));
  return {
    method: overrides.method ?? 'GET',
    url: overrides.url ?? '/chat',
    headers,
    rawHeaders: [...rawHeaders, ...(overrides.extraRaw ?? [])],
  } as unknown as IncomingMessage;
}

describe('serviceForPath matches configured names only', () => {
  test.each([
    ['/chat', 'chat'],
    ['/chat/', 'chat'],
    ['/echo', 'echo'],
    ['/Chat', undefined],
    ['/', undefined],
    ['/chat/x', undefined],
    ['/../chat', undefined],
    ['/%63hat', undefined],
    ['/./chat', undefined],
    ['//chat', undefined],
    ['/services', undefined],
    ['chat', undefined],
  ])('%s → %s', (pathname, expected) => {
    expect(serviceForPath(pathname, services)).toBe(expected);
  });
});

test('parseTarget splits path and query (last value wins) and rejects non-origin forms', () => {
  expect(parseTarget('/chat?room=a&room=b&x=1')).toEqual({ pathname: '/chat', query: { room: 'b', x: '1' } });
  expect(parseTarget('http://evil/chat')).toBeUndefined();
  expect(parseTarget('*')).toBeUndefined();
  expect(parseTarget(undefined)).toBeUndefined();
});

test('a valid upgrade is routed with its query', () => {
  expect(checkUpgrade(request({ url: '/chat?name=ann' }), services)).toEqual({ ok: true, service: 'chat', path: '/chat', query: { name: 'ann' } });
});

test.each<[string, Parameters<typeof request>[0], number, Record<string, string> | undefined]>([
  ['a POST', { method: 'POST' }, 405, { Allow: 'GET' }],
  ['an unknown path', { url: '/nope' }, 404, undefined],
  ['an upgrade to something else', { headers: { upgrade: 'h2c' } }, 400, undefined],
  ['version 8', { headers: { 'sec-websocket-version': '8' } }, 426, { 'Sec-WebSocket-Version': '13' }],
  ['no version', { headers: { 'sec-websocket-version': undefined } }, 426, { 'Sec-WebSocket-Version': '13' }],
  ['a short key', { headers: { 'sec-websocket-key': 'abc' } }, 400, undefined],
  ['a missing key', { headers: { 'sec-websocket-key': undefined } }, 400, undefined],
])('%s is refused', (_name, overrides, status, headers) => {
  const verdict = checkUpgrade(request(overrides), services);
  expect(verdict.ok).toBe(false);
  if (verdict.ok) return;
  expect(verdict.status).toBe(status);
  expect(verdict.headers).toEqual(headers);
});

test('the path is checked before the headers: an unknown path is 404 even with a bad key', () => {
  const verdict = checkUpgrade(request({ url: '/etc/passwd', headers: { 'sec-websocket-key': 'x' } }), services);
  expect(verdict).toMatchObject({ ok: false, status: 404 });
});

describe('Sec-WebSocket-Key is checked exactly as ws checks it (no trimming)', () => {
  // node:http strips spaces and tabs around a header value itself; what reaches us
  // padded is what String.prototype.trim() alone would strip (a latin1 NBSP, a
  // vertical tab, a form feed). ws tests the raw value, so must we.
  test.each([
    ['a trailing no-break space', 'dGhlIHNhbXBsZSBub25jZQ==\u00a0'],
    ['a leading no-break space', '\u00a0dGhlIHNhbXBsZSBub25jZQ=='],
    ['a trailing vertical tab', 'dGhlIHNhbXBsZSBub25jZQ==\u000b'],
    ['a trailing form feed', 'dGhlIHNhbXBsZSBub25jZQ==\u000c'],
    ['a trailing space', 'dGhlIHNhbXBsZSBub25jZQ== '],
  ])('a key with %s is refused with 400', (_name, key) => {
    expect(checkUpgrade(request({ headers: { 'sec-websocket-key': key } }), services)).toMatchObject({ ok: false, status: 400 });
  });

  test('the same pattern as ws: 22 base64 characters then ==', () => {
    expect(checkUpgrade(request({ headers: { 'sec-websocket-key': 'AAAAAAAAAAAAAAAAAAAAAA==' } }), services)).toMatchObject({ ok: true });
    expect(checkUpgrade(request({ headers: { 'sec-websocket-key': 'AAAAAAAAAAAAAAAAAAAAAA=' } }), services)).toMatchObject({ ok: false, status: 400 });
    expect(checkUpgrade(request({ headers: { 'sec-websocket-key': 'AAAAAAAAAAAAAAAAAAAAA-==' } }), services)).toMatchObject({ ok: false, status: 400 });
  });
});

describe('checkRequestHead: one Host, and a Transfer-Encoding that ends with chunked', () => {
  test.each([
    ['a plain head', {}, undefined],
    ['a second Host (any case)', { extraRaw: ['HOST', 'evil.example'] }, 'More than one Host header'],
    ['Transfer-Encoding: xchunked', { headers: { 'transfer-encoding': 'xchunked' } }, 'Transfer-Encoding must end with chunked'],
    ['Transfer-Encoding: chunked, gzip', { headers: { 'transfer-encoding': 'chunked, gzip' } }, 'Transfer-Encoding must end with chunked'],
    ['Transfer-Encoding: gzip, chunked', { headers: { 'transfer-encoding': 'gzip, chunked' } }, undefined],
    ['Transfer-Encoding: Chunked', { headers: { 'transfer-encoding': 'Chunked' } }, undefined],
  ])('%s', (_what, overrides, expected) => {
    expect(checkRequestHead(request(overrides))).toBe(expected);
  });

  test('an upgrade with either is refused with 400, and so is one with any Transfer-Encoding', () => {
    expect(checkUpgrade(request({ extraRaw: ['Host', 'b'] }), services)).toMatchObject({ ok: false, status: 400 });
    expect(checkUpgrade(request({ headers: { 'transfer-encoding': 'xchunked' } }), services)).toMatchObject({ ok: false, status: 400 });
    expect(checkUpgrade(request({ headers: { 'transfer-encoding': 'chunked' } }), services)).toMatchObject({ ok: false, status: 400 });
  });
});

import { formatError, formatResult, looksLikeRequest, parseRequest } from '../../src/services/request-envelope';

test('only text starting exactly with {"$req": is a request', () => {
  expect(looksLikeRequest('{"$req":1,"data":2}')).toBe(true);
  expect(looksLikeRequest('{ "$req":1}')).toBe(false);
  expect(looksLikeRequest('{"data":1,"$req":2}')).toBe(false);
  expect(looksLikeRequest('hello')).toBe(false);
});

test('ids are strings (≤ 128 chars) or finite numbers; data is any JSON', () => {
  expect(parseRequest('{"$req":7,"data":{"a":[1]}}')).toEqual({ ok: true, id: 7, data: { a: [1] } });
  expect(parseRequest('{"$req":"abc"}')).toEqual({ ok: true, id: 'abc', data: undefined });
  expect(parseRequest('{"$req":null}')).toMatchObject({ ok: false, id: null });
  expect(parseRequest(`{"$req":"${'x'.repeat(129)}"}`)).toMatchObject({ ok: false });
  expect(parseRequest('{"$req":1e999}')).toMatchObject({ ok: false });
  expect(parseRequest('{"$req": oops')).toEqual({ ok: false, id: null, message: 'request envelope is not valid JSON' });
});

test('replies carry the id and either data or error', () => {
  expect(JSON.parse(formatResult(7, { ok: true }))).toEqual({ $res: 7, data: { ok: true } });
  expect(JSON.parse(formatResult('a', undefined))).toEqual({ $res: 'a', data: null });
  expect(JSON.parse(formatError(null, 'SY_ERR_BAD_REQUEST', 'bad'))).toEqual({ $res: null, error: { code: 'SY_ERR_BAD_REQUEST', message: 'bad' } });
});

/**
 * Where the JWT authenticator finds a token, and which protocol it answers
 * with; pure functions (jose itself runs in the workers: see
 * test/integration/jwt.test.ts).
 */
import type { AuthRequest } from '../../src/worker/authenticate';
import { findToken, selectProtocol } from '../../src/worker/jwt-auth';

function request(fields: Partial<AuthRequest>): AuthRequest {
  return { method: 'GET', path: '/chat', query: {}, headers: {}, cookies: {}, remoteAddress: '127.0.0.1', ...fields };
}

test('the first place that has a token wins, in the configured order', () => {
  const all = request({ headers: { authorization: 'Bearer H', 'sec-websocket-protocol': 'chat, bearer.P', 'x-token': 'X' }, query: { token: 'Q' }, cookies: { token: 'C' } });
  expect(findToken(all, ['header:authorization', 'protocol', 'cookie:token', 'query:token'])).toBe('H');
  expect(findToken(all, ['query:token', 'header:authorization'])).toBe('Q');
  expect(findToken(all, ['protocol'])).toBe('P');
  expect(findToken(all, ['cookie:token'])).toBe('C');
  expect(findToken(all, ['header:x-token'])).toBe('X');
  expect(findToken(request({}), ['header:authorization', 'query:token'])).toBeUndefined();
});

test('Authorization counts only with the Bearer scheme (any case); an empty value is no token', () => {
  expect(findToken(request({ headers: { authorization: 'bearer   abc ' } }), ['header:authorization'])).toBe('abc');
  expect(findToken(request({ headers: { authorization: 'Basic abc' }, query: { token: 'Q' } }), ['header:authorization', 'query:token'])).toBe('Q');
  expect(findToken(request({ query: { token: '' }, cookies: { token: 'C' } }), ['query:token', 'cookie:token'])).toBe('C');
});

test('the chosen protocol is the first offered that is not a token; none when only a token is offered', () => {
  expect(selectProtocol(new Set(['bearer.abc', 'chat.v1', 'chat.v2']))).toBe('chat.v1');
  expect(selectProtocol(new Set(['bearer.abc']))).toBe(false);
});

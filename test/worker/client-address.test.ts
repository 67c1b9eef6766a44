import type { IncomingMessage } from 'node:http';
import { addressResolver, clientOf, forwardedFor, peerAddress } from '../../src/worker/client-address';

function request(peer: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

test('with no proxy trusted, the peer address is used and no header is read', () => {
  const resolve = addressResolver(null, 'x-forwarded-for');
  expect(resolve).toBe(peerAddress);
  expect(resolve(request('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('127.0.0.1');
});

test('X-Forwarded-For is walked from its right end while the hops are trusted', () => {
  const resolve = addressResolver(['loopback', '10.0.0.0/8'], 'x-forwarded-for');
  // nginx appends the address it saw; the client's own part of the header is further left.
  expect(resolve(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.7, 203.0.113.9, 10.0.0.2' }))).toBe('203.0.113.9');
  expect(resolve(request('127.0.0.1', { 'x-forwarded-for': '10.1.2.3' }))).toBe('10.1.2.3');
  expect(resolve(request('127.0.0.1'))).toBe('127.0.0.1');
  // An untrusted peer's header is not read at all.
  expect(resolve(request('192.0.2.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('192.0.2.1');
  // A hop that is not an address ends the chain at the trusted one before it.
  expect(resolve(request('127.0.0.1', { 'x-forwarded-for': '<script>, 10.0.0.2' }))).toBe('10.0.0.2');
  // IPv4-mapped peers (a server bound to ::) are trusted as their IPv4 address.
  expect(resolve(request('::ffff:127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('203.0.113.9');
});

test('with forwardedHeader "forwarded", only RFC 7239 for= values are read, quotes, brackets and ports removed', () => {
  const resolve = addressResolver(['127.0.0.1'], 'forwarded');
  expect(resolve(request('127.0.0.1', { forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43', 'x-forwarded-for': '198.51.100.1' }))).toBe('192.0.2.60');
  expect(resolve(request('127.0.0.1', { forwarded: 'for="[2001:db8:cafe::17]:4711"' }))).toBe('2001:db8:cafe::17');
  expect(resolve(request('127.0.0.1', { forwarded: 'for=unknown' }))).toBe('127.0.0.1');
  expect(resolve(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.1' }))).toBe('127.0.0.1');
  expect(forwardedFor('for=192.0.2.43, for="[2001:db8::1]";proto=https, proto=http, For="198.51.100.17:80"')).toEqual(['192.0.2.43', '2001:db8::1', '', '198.51.100.17']);
  expect(forwardedFor('for="a,b;c", for=192.0.2.1')).toEqual(['a,b;c', '192.0.2.1']);
});

test('clientOf takes the first untrusted address, as proxy-addr does', () => {
  const trustFirstTwo = (_address: string, hop: number): boolean => hop < 2;
  expect(clientOf(['127.0.0.1', '10.0.0.1', '192.0.2.1', '192.0.2.2'], trustFirstTwo)).toBe('192.0.2.1');
  expect(clientOf(['127.0.0.1'], () => true)).toBe('127.0.0.1');
  expect(clientOf([], () => true)).toBe('');
});

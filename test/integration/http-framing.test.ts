/**
 * Request heads node:http lets through or answers badly: a `Transfer-Encoding`
 * whose last coding is not `chunked` (RFC 9112 §6.3: the body length cannot be
 * known, so 400 and close) and more than one `Host` (RFC 9112 §3.2: 400). Each
 * is sent on a raw socket, to a plain HTTP route and as a WebSocket upgrade,
 * on one real cluster; a good client is checked to be still served. An
 * upgrade that is wrongly accepted stays open (101), so those cases have a
 * short timeout of their own.
 */
import * as path from 'node:path';
import { closeAll, connect, FIXTURES, startCluster } from '../helpers/cluster';
import { closeRawClients, rawRequest, upgradeRequest } from '../helpers/raw-client';

const ECHO = require.resolve('../../src/services/examples/echo');

let port: number;
beforeAll(async () => {
  ({ port } = await startCluster({ workers: 1, services: { echo: ECHO, req: path.join(FIXTURES, 'requests.ts') } }));
});
afterEach(closeRawClients);
afterAll(closeAll);

/** A plain request head (and body), on one connection that the client keeps open. */
function plainRequest(method: string, target: string, headers: readonly string[], body = ''): string {
  return `${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
}

async function stillServed(): Promise<void> {
  const good = await connect(port, '/echo');
  good.socket.send('still here');
  expect(await good.received(1)).toEqual(['still here']);
  const response = await fetch(`http://127.0.0.1:${port}/services/req/ok`, { method: 'POST', body: 'fine' });
  expect(response.status).toBe(200);
  await response.text();
}

describe('Transfer-Encoding whose final coding is not chunked: 400, not a silent close', () => {
  test.each([
    ['a request to a service (its body is awaited)', 'POST', '/services/req/x'],
    ['a request no route takes (answered before the body)', 'POST', '/nowhere'],
    ['the health endpoint', 'GET', '/healthz'],
  ])('%s', async (_what, method, target) => {
    const response = await rawRequest(port, plainRequest(method, target, ['Host: localhost', 'Transfer-Encoding: xchunked'], 'hello'));
    expect(response.status).toBe(400);
    expect(response.text).toContain('Connection: close');
    await stillServed();
  });

  test('chunked, then another coding: 400', async () => {
    const response = await rawRequest(port, plainRequest('POST', '/services/req/x', ['Host: localhost', 'Transfer-Encoding: chunked, gzip'], '5\r\nhello\r\n0\r\n\r\n'));
    expect(response.status).toBe(400);
  });

  test('on a WebSocket upgrade: 400, no 101', async () => {
    const response = await rawRequest(port, upgradeRequest('/echo', { 'Transfer-Encoding': 'xchunked' }));
    expect(response.status).toBe(400);
    await stillServed();
  }, 10_000);

  test('a well-formed chunked body still reaches the service', async () => {
    const response = await rawRequest(port, plainRequest('POST', '/services/req/x', ['Host: localhost', 'Transfer-Encoding: chunked', 'Connection: close'], '5\r\nhello\r\n0\r\n\r\n'));
    expect(response.status).toBe(200);
    expect(response.text).toContain('"body":"hello"');
  });
});

describe('more than one Host header: 400', () => {
  test('plain HTTP', async () => {
    const response = await rawRequest(port, plainRequest('GET', '/healthz', ['Host: a.example', 'Host: b.example']));
    expect(response.status).toBe(400);
    await stillServed();
  });

  test('plain HTTP to a service: the service never hears of it', async () => {
    const response = await rawRequest(port, plainRequest('POST', '/services/req/x', ['Host: a.example', 'host: b.example', 'Content-Length: 2'], 'hi'));
    expect(response.status).toBe(400);
    expect(response.text).not.toContain('"transport"');
  });

  test('a WebSocket upgrade', async () => {
    const response = await rawRequest(port, `${upgradeRequest('/echo').slice(0, -2)}Host: b.example\r\n\r\n`);
    expect(response.status).toBe(400);
    await stillServed();
  }, 10_000);

  test('one Host is fine', async () => {
    const response = await rawRequest(port, plainRequest('GET', '/healthz', ['Host: a.example', 'Connection: close']));
    expect(response.status).toBe(200);
  });
});

import * as net from 'node:net';
import WebSocket from 'ws';
import { closeAll, connect, startCluster } from '../helpers/cluster';
import { upgradeRequest } from '../helpers/raw-client';

afterEach(closeAll);

/** Sends a raw HTTP request and resolves with the status line and headers. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let response = '';
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.on('end', () => resolve(response));
    socket.on('error', reject);
  });
}

test('malformed and misrouted upgrades get the right HTTP status before any upgrade', async () => {
  const { port } = await startCluster();
  expect(await rawRequest(port, upgradeRequest('/nope'))).toMatch(/^HTTP\/1.1 404 /);
  expect(await rawRequest(port, upgradeRequest('/../echo'))).toMatch(/^HTTP\/1.1 404 /);
  expect(await rawRequest(port, upgradeRequest('/echo', {}, 'POST'))).toMatch(/^HTTP\/1.1 405 [^]*Allow: GET/);
  const version = await rawRequest(port, upgradeRequest('/echo', { 'Sec-WebSocket-Version': '8' }));
  expect(version).toMatch(/^HTTP\/1.1 426 /);
  expect(version).toContain('Sec-WebSocket-Version: 13');
  expect(await rawRequest(port, upgradeRequest('/echo', { 'Sec-WebSocket-Key': 'short' }))).toMatch(/^HTTP\/1.1 400 /);
  expect(await rawRequest(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1.1 400 /);
  // The cluster still serves after all of that.
  const client = await connect(port, '/echo');
  client.socket.send('still here');
  expect(await client.received(1)).toEqual(['still here']);
});

test('plain HTTP: a service path asks for an upgrade, anything else is 404', async () => {
  const { port } = await startCluster();
  const service = await fetch(`http://127.0.0.1:${port}/echo`);
  expect(service.status).toBe(426);
  expect(service.headers.get('upgrade')).toBe('websocket');
  await service.text();
  const missing = await fetch(`http://127.0.0.1:${port}/etc/passwd`);
  expect(missing.status).toBe(404);
  await missing.text();
});

test('an unknown path is refused to a real ws client with 404', async () => {
  const { port } = await startCluster();
  await expect(connect(port, '/missing')).rejects.toThrow('HTTP 404');
});

test('onConnect sees path, query, selected headers and the remote address', async () => {
  const { port } = await startCluster({ services: { rec: require.resolve('../fixtures/recorder') } });
  const client = await connect(port, '/rec?room=a&name=b', { headers: { Origin: 'http://example.test', Cookie: 'secret=1' } });
  const welcome = await client.json<{ query: object; headers: Record<string, string>; remoteAddress: string }>((m) => m.type === 'welcome');
  expect(welcome.query).toEqual({ room: 'a', name: 'b' });
  expect(welcome.headers.origin).toBe('http://example.test');
  expect(welcome.headers.cookie).toBeUndefined();
  expect(welcome.remoteAddress).toBe('127.0.0.1');
});

test('per-client order is kept end to end', async () => {
  const { port } = await startCluster();
  const clients = await Promise.all(Array.from({ length: 5 }, () => connect(port, '/echo')));
  const count = 400;
  for (const client of clients) for (let i = 0; i < count; i++) client.socket.send(String(i));
  for (const client of clients) {
    const received = await client.received(count);
    expect(received).toEqual(Array.from({ length: count }, (_, i) => String(i)));
  }
});

test('500 concurrent clients each get their own echoes', async () => {
  const { port } = await startCluster();
  const clients = await Promise.all(Array.from({ length: 500 }, () => connect(port, '/echo')));
  clients.forEach((client, i) => client.socket.send(`client-${i}`));
  const replies = await Promise.all(clients.map((client) => client.received(1)));
  replies.forEach((reply, i) => expect(reply).toEqual([`client-${i}`]));
}, 60000);

test('a frame over maxPayload closes that client with 1009; others are unaffected', async () => {
  const { port } = await startCluster({ maxPayload: 1024 });
  const big = await connect(port, '/echo');
  const small = await connect(port, '/echo');
  big.socket.send('x'.repeat(2048));
  expect(await big.closed).toBe(1009);
  small.socket.send('ok');
  expect(await small.received(1)).toEqual(['ok']);
  expect(small.socket.readyState).toBe(WebSocket.OPEN);
});

test('a refused upgrade is answered and its socket closed by the server, even if the peer never closes', async () => {
  const { port } = await startCluster();
  const socket = net.connect(port, '127.0.0.1', () => socket.write(upgradeRequest('/nope')));
  let response = '';
  socket.on('data', (chunk) => (response += chunk.toString()));
  socket.on('error', () => undefined);
  // allowHalfOpen is false on the client: it never ends its side first; the server must destroy.
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  expect(response).toMatch(/^HTTP\/1.1 404 /);
});

test('a parse error after a pipelined request cuts the connection instead of answering in its name', async () => {
  const { port } = await startCluster();
  const text = await rawRequest(port, 'GET /services/echo HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n');
  expect(text).not.toMatch(/^HTTP\/1.1 400/);
  expect(text.match(/HTTP\/1.1 400/g)).toBeNull();
});

test('a plain GET asking for another protocol (h2c, as curl --http2 does) is served over HTTP/1.1', async () => {
  const { port } = await startCluster();
  const text = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n');
  expect(text).toMatch(/^HTTP\/1.1 200 /);
  expect(text).toContain('"status":"ok"');
});

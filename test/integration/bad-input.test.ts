/**
 * The bad-input catalogue: one real cluster per case, the bad input sent over
 * real sockets, the answer checked (HTTP status or close code), and a
 * well-behaved client on the same cluster checked to be still served. Limits
 * are set small so that each case is quick; every wait is on an event.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import WebSocket from 'ws';
import type { SwitchyardOptions } from '../../src/options';
import { closeAll, closeClients, connect, startCluster, type TestClient } from '../helpers/cluster';
import { frame, OPCODES } from '../helpers/frames';
import { closeRawClients, rawRequest, rawWebSocket, upgradeRequest, type RawClient } from '../helpers/raw-client';

const ECHO = require.resolve('../../src/services/examples/echo');
const WATCH = require.resolve('../fixtures/close-watcher');

afterEach(closeRawClients);

/** One worker, so that per-worker limits are exact, and one service. */
function cluster(options: SwitchyardOptions = {}): Promise<{ port: number }> {
  return startCluster({ workers: 1, services: { echo: ECHO }, ...options });
}

/** Sends `text` and waits for it to come back (other messages may come first). */
async function roundTrip(client: TestClient, text: string): Promise<void> {
  const start = client.messages.length;
  client.socket.send(text);
  for (let count = start + 1; ; count++) {
    const messages = await client.received(count);
    if (messages[count - 1] === text) return;
  }
}

/** The well-behaved client still gets its echoes, and a new one can connect and be served. */
async function stillServed(port: number, good: TestClient, path = '/echo'): Promise<void> {
  await roundTrip(good, 'still here');
  expect(good.socket.readyState).toBe(WebSocket.OPEN);
  const fresh = await connect(port, path);
  await roundTrip(fresh, 'new client');
}

/** Resolves with how the connection of client `id` ended, as the close-watcher service heard it. */
function serviceSawClose(watcher: TestClient, id: string): Promise<{ code: number }> {
  watcher.socket.send(`close-of:${id}`);
  return watcher.json<{ code: number }>((m) => m.type === 'closed' && m.id === id);
}

/** Opens a raw client on the close-watcher service and reads its id from the welcome. */
async function rawWatched(port: number): Promise<{ raw: RawClient; id: string }> {
  const raw = await rawWebSocket(port, '/watch');
  const welcome = await raw.frame((f) => f.opcode === OPCODES.TEXT);
  return { raw, id: (JSON.parse(welcome.payload.toString()) as { id: string }).id };
}

/**
 * Inputs answered by the worker's parsers and checks, whatever the limits: one
 * cluster serves every case in turn, which also shows that none of them hurts
 * the cases after it.
 */
describe('malformed HTTP and frames, one cluster for all', () => {
  let port: number;
  beforeAll(async () => {
    ({ port } = await cluster({ maxPayload: 1024, handshakeTimeout: 500 }));
  });
  afterEach(closeClients);
  afterAll(closeAll);

  test('garbage bytes on the port: 400 or hung up, never a crash', async () => {
    const good = await connect(port, '/echo');
    const response = await rawRequest(port, Buffer.concat([randomBytes(2048), Buffer.from('\r\n\r\n')]));
    expect([400, undefined]).toContain(response.status);
    await stillServed(port, good);
  });

  test('a truncated handshake (headers cut off, then EOF): 400', async () => {
    const good = await connect(port, '/echo');
    const response = await rawRequest(port, 'GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: webs', { end: true });
    expect(response.status).toBe(400);
    await stillServed(port, good);
  });

  test('a slow handshake (slowloris) is cut after handshakeTimeout while others are served', async () => {
    const good = await connect(port, '/echo');
    // Half a request line, then nothing: the socket stays open on our side.
    const slow = rawRequest(port, 'GET /echo HT');
    await stillServed(port, good);
    const response = await slow;
    expect([408, undefined]).toContain(response.status);
    await stillServed(port, good);
  });

  test('a bad Sec-WebSocket-Key: 400', async () => {
    const good = await connect(port, '/echo');
    expect((await rawRequest(port, upgradeRequest('/echo', { 'Sec-WebSocket-Key': 'not-a-key' }))).status).toBe(400);
    await stillServed(port, good);
  });

  test('an unsupported WebSocket version: 426 with Sec-WebSocket-Version: 13', async () => {
    const good = await connect(port, '/echo');
    const response = await rawRequest(port, upgradeRequest('/echo', { 'Sec-WebSocket-Version': '8' }));
    expect(response.status).toBe(426);
    expect(response.text).toContain('Sec-WebSocket-Version: 13');
    await stillServed(port, good);
  });

  test('a header block over maxHeaderSize: 431', async () => {
    const good = await connect(port, '/echo');
    const response = await rawRequest(port, upgradeRequest('/echo', { 'X-Huge': 'a'.repeat(20 * 1024) }));
    expect(response.status).toBe(431);
    await stillServed(port, good);
  });


  test('a frame over maxPayload: 1009', async () => {
    const good = await connect(port, '/echo');
    const big = await connect(port, '/echo');
    big.socket.send('x'.repeat(2048));
    expect(await big.closed).toBe(1009);
    await stillServed(port, good);
  });

  test('invalid UTF-8 in a text frame: 1007', async () => {
    const good = await connect(port, '/echo');
    const raw = await rawWebSocket(port, '/echo');
    raw.socket.write(frame(OPCODES.TEXT, Buffer.from([0x68, 0xff, 0xfe, 0x69])));
    expect(await raw.closeCode()).toBe(1007);
    await stillServed(port, good);
  });

  test('an unmasked client frame: 1002', async () => {
    const good = await connect(port, '/echo');
    const raw = await rawWebSocket(port, '/echo');
    raw.socket.write(frame(OPCODES.TEXT, 'hello', { mask: false }));
    expect(await raw.closeCode()).toBe(1002);
    await stillServed(port, good);
  });

  test('a reserved opcode: 1002', async () => {
    const good = await connect(port, '/echo');
    const raw = await rawWebSocket(port, '/echo');
    raw.socket.write(frame(0x3, 'what is this'));
    expect(await raw.closeCode()).toBe(1002);
    await stillServed(port, good);
  });
});

describe('limits, one cluster each', () => {
  afterEach(closeAll);

  test('an Origin not in allowedOrigins: 403; an allowed one connects', async () => {
    const { port } = await cluster({ allowedOrigins: ['http://good.example'] });
    const good = await connect(port, '/echo', { origin: 'http://good.example' });
    await expect(connect(port, '/echo', { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(port, '/echo')).rejects.toThrow('HTTP 403');
    await roundTrip(good, 'still here');
    const fresh = await connect(port, '/echo', { origin: 'http://good.example' });
    await roundTrip(fresh, 'new client');
  });
  test('a client that never reads is closed (1013, or terminated) once its backlog passes maxBufferedBytes', async () => {
    const { port } = await cluster({ services: { watch: WATCH }, maxBufferedBytes: 64 * 1024 });
    const good = await connect(port, '/watch');
    const { raw, id } = await rawWatched(port);
    const verdict = serviceSawClose(good, id);
    // Stop reading, then have the service echo 12 MiB back: more than the kernel's socket buffers
    // hold on this machine (the send buffer tops out at 4 MiB), so the rest piles up in the worker.
    raw.socket.pause();
    const message = frame(OPCODES.TEXT, 'x'.repeat(256 * 1024));
    for (let i = 0; i < 48; i++) {
      if (!raw.socket.write(message)) await once(raw.socket, 'drain');
    }
    // 1013 when the client still took the close frame; 1006 when it had to be terminated.
    expect([1006, 1013]).toContain((await verdict).code);
    await stillServed(port, good, '/watch');
  });

  test('a flood of connections beyond maxConnectionsPerWorker: 503 with Retry-After; once they close, new ones succeed', async () => {
    const { port } = await cluster({ services: { watch: WATCH }, maxConnectionsPerWorker: 3 });
    const good = await connect(port, '/watch');
    const flood = await Promise.all([connect(port, '/watch'), connect(port, '/watch')]);
    const refused = await Promise.allSettled(Array.from({ length: 5 }, () => connect(port, '/watch')));
    expect(refused.map((r) => (r.status === 'rejected' ? String(r.reason) : 'accepted'))).toEqual(Array(5).fill('Error: HTTP 503'));
    const raw = await rawRequest(port, upgradeRequest('/watch'));
    expect(raw.status).toBe(503);
    expect(raw.text).toContain('Retry-After: 1');
    // Close the flood and wait until the service has heard of it (the worker freed the slots before that).
    const ids = await Promise.all(flood.map(async (c) => (await c.json<{ id: string }>((m) => m.type === 'welcome')).id));
    const heard = ids.map((id) => serviceSawClose(good, id));
    for (const client of flood) client.socket.close();
    await Promise.all(heard);
    const again = await Promise.all([connect(port, '/watch'), connect(port, '/watch')]);
    await roundTrip(again[0], 'back');
    await expect(connect(port, '/watch')).rejects.toThrow('HTTP 503');
    await roundTrip(good, 'still here');
  });

  test('connections from one address beyond maxConnectionsPerIp: 429', async () => {
    const { port } = await cluster({ maxConnectionsPerIp: 2 });
    const good = await connect(port, '/echo');
    await connect(port, '/echo');
    const raw = await rawRequest(port, upgradeRequest('/echo'));
    expect(raw.status).toBe(429);
    expect(raw.text).toContain('Retry-After: 1');
    await roundTrip(good, 'still here');
  });

  test('a flood of messages beyond maxMessagesPerSecond: 1008 "rate limit"', async () => {
    const { port } = await cluster({ maxMessagesPerSecond: 5 });
    const good = await connect(port, '/echo');
    const flooder = await connect(port, '/echo');
    for (let i = 0; i < 50; i++) flooder.socket.send(`flood ${i}`);
    expect(await flooder.closed).toBe(1008);
    expect(flooder.closeReason).toBe('rate limit');
    // The burst allowance went through; the rest was dropped, not forwarded.
    expect(flooder.messages.length).toBeLessThan(50);
    await stillServed(port, good);
  });

  test('heartbeat: a peer that stops answering pings is terminated and its service sees 1006', async () => {
    // The least interval allowed: a client must have a second to answer a ping.
    const { port } = await cluster({ services: { watch: WATCH }, heartbeatInterval: 1000 });
    // A ws client answers pings by itself: it must survive every sweep.
    const good = await connect(port, '/watch');
    const { raw, id } = await rawWatched(port);
    expect((await serviceSawClose(good, id)).code).toBe(1006);
    await raw.closed;
    expect(raw.frames.some((f) => f.opcode === OPCODES.PING)).toBe(true);
    await stillServed(port, good, '/watch');
  });

  test('idleTimeout: a client that sends nothing is closed with 1000 "idle timeout"', async () => {
    const { port } = await cluster({ idleTimeout: 1000 });
    const idle = await connect(port, '/echo');
    expect(await idle.closed).toBe(1000);
    expect(idle.closeReason).toBe('idle timeout');
    const fresh = await connect(port, '/echo');
    await roundTrip(fresh, 'busy');
  });
});

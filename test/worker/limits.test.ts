import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { WorkerLimits } from '../../src/child-env';
import { createLogger } from '../../src/logger';
import { testWorkerLimits } from '../helpers/worker-limits';
import type { CloseDeadlines } from '../../src/worker/close-deadline';
import type { Heartbeat } from '../../src/worker/heartbeat';
import { ConnectionLimits, INFLATE_CONCURRENCY, LIMIT_CLOSE_GRACE_MS, httpServerOptions, perMessageDeflateOptions } from '../../src/worker/limits';

test('handshakeTimeout becomes headersTimeout, requestBodyTimeout requestTimeout, checked at a quarter of the shorter (at most every second)', () => {
  expect(httpServerOptions({ handshakeTimeout: 10_000, maxHeaderSize: 16384, requestBodyTimeout: 30_000 })).toEqual({
    maxHeaderSize: 16384,
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    connectionsCheckingInterval: 1000,
  });
  expect(httpServerOptions({ handshakeTimeout: 200, maxHeaderSize: 1024, requestBodyTimeout: 30_000 }).connectionsCheckingInterval).toBe(50);
  expect(httpServerOptions({ handshakeTimeout: 10_000, maxHeaderSize: 1024, requestBodyTimeout: 400 }).connectionsCheckingInterval).toBe(100);
});

test('node:http accepts the options even when handshakeTimeout is above requestBodyTimeout', () => {
  // node throws when headersTimeout > requestTimeout; a long handshakeTimeout must not make the worker fail to start.
  const server = http.createServer(httpServerOptions({ handshakeTimeout: 3_600_000, maxHeaderSize: 16384, requestBodyTimeout: 30_000 }));
  expect(server.headersTimeout).toBe(3_600_000);
  expect(server.requestTimeout).toBe(3_600_000);
  server.close();
});

/** Just enough of a `ws` WebSocket for ConnectionLimits: events, state, close and terminate. */
class FakeSocket extends EventEmitter {
  readyState: WebSocket['readyState'] = WebSocket.OPEN;
  bufferedAmount = 0;
  /** What ws negotiated: `''`, or `'permessage-deflate'` (with its parameters) for a compressed client. */
  constructor(readonly extensions = '') {
    super();
  }
  readonly closes: Array<[number, string]> = [];
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
    this.readyState = WebSocket.CLOSING;
  }
  terminate(): void {
    this.readyState = WebSocket.CLOSED;
    this.emit('close');
  }
  ping(): void {}
}

// What these tests rely on, over the spec's defaults.
const LIMITS: WorkerLimits = testWorkerLimits({
  maxBufferedBytes: 1024,
  heartbeatInterval: 0,
  maxConnectionsPerWorker: 10,
  maxConnectionsPerIp: 10,
  maxMessagesPerSecond: 3,
  maxInflatedBytesPerSecond: 4096,
});

describe('ConnectionLimits', () => {
  let limits: ConnectionLimits;
  let now = 0;
  beforeEach(() => {
    now = 0;
    limits = new ConnectionLimits(LIMITS, createLogger('silent', 'worker'), () => now);
  });
  afterEach(() => limits.close());

  test('over the rate: closed once with 1008 "rate limit", and every later message is dropped', () => {
    const socket = new FakeSocket();
    const ws = socket as unknown as WebSocket;
    limits.track(ws);
    expect([1, 2, 3, 4, 5].map(() => limits.allowMessage(ws, 1))).toEqual([true, true, true, false, false]);
    now = 10_000; // tokens would have refilled; a client being closed stays closed
    expect(limits.allowMessage(ws, 1)).toBe(false);
    expect(socket.closes).toEqual([[1008, 'rate limit']]);
  });

  test('a compressed client over maxInflatedBytesPerSecond: 1008 "inflate rate limit", its later messages dropped', () => {
    const socket = new FakeSocket('permessage-deflate; client_max_window_bits=15');
    const ws = socket as unknown as WebSocket;
    limits.track(ws);
    // The bucket starts full (4096 bytes); 1 s refills it, no more.
    expect([3000, 1096].map((bytes) => limits.allowMessage(ws, bytes))).toEqual([true, true]);
    now = 1000;
    expect(limits.allowMessage(ws, 3000)).toBe(true);
    expect(limits.allowMessage(ws, 1097)).toBe(false);
    now = 10_000;
    expect(limits.allowMessage(ws, 1)).toBe(false);
    expect(socket.closes).toEqual([[1008, 'inflate rate limit']]);
  });

  test('an uncompressed client is not counted in inflated bytes; the bucket holds at least maxPayload', () => {
    const plain = new FakeSocket();
    limits.track(plain as unknown as WebSocket);
    expect([1 << 20, 1 << 20, 1 << 20].map((bytes) => limits.allowMessage(plain as unknown as WebSocket, bytes))).toEqual([true, true, true]);
    expect(plain.closes).toEqual([]);
    // maxPayload above the budget: one message of maxPayload still goes through, a second at once does not.
    const wide = new ConnectionLimits({ ...LIMITS, maxMessagesPerSecond: 0 }, createLogger('silent', 'worker'), () => now, 64 * 1024);
    const socket = new FakeSocket('permessage-deflate');
    wide.track(socket as unknown as WebSocket);
    expect([64 * 1024, 1].map((bytes) => wide.allowMessage(socket as unknown as WebSocket, bytes))).toEqual([true, false]);
    wide.close();
  });

  test('a send behind a backlog over maxBufferedBytes closes with 1013 once; the grace then terminates a stuck client', () => {
    const socket = new FakeSocket();
    const ws = socket as unknown as WebSocket;
    limits.track(ws);
    // One message larger than the bound, on an empty backlog, is not a slow consumer.
    socket.bufferedAmount = 64 * 1024;
    limits.afterSend(ws, 0);
    limits.afterSend(ws, 1024);
    expect(socket.closes).toEqual([]);
    limits.afterSend(ws, 1025);
    limits.afterSend(ws, 1025);
    expect(socket.closes).toEqual([[1013, 'slow consumer']]);
    const deadlines = (limits as unknown as { deadlines: CloseDeadlines<WebSocket> }).deadlines;
    deadlines.sweep(LIMIT_CLOSE_GRACE_MS);
    expect(socket.readyState).toBe(WebSocket.CLOSED);
  });

  test('an admitted upgrade holds its slot until the TCP socket closes', () => {
    const tcp = new EventEmitter() as EventEmitter & { closed: boolean };
    tcp.closed = false;
    const request = { headers: {}, socket: { remoteAddress: '10.0.0.1' } } as unknown as IncomingMessage;
    expect(limits.admit(request, tcp as unknown as Duplex, '10.0.0.1')).toBeNull();
    expect(limits.connections).toBe(1);
    tcp.emit('close');
    expect(limits.connections).toBe(0);
  });

  test('a slot is freed once per admitted socket, even if its close were reported twice; a socket already closed frees it at once', () => {
    const request = { headers: {}, socket: { remoteAddress: '10.0.0.1' } } as unknown as IncomingMessage;
    const tcp = (closed: boolean): EventEmitter & { closed: boolean } => Object.assign(new EventEmitter(), { closed });
    const first = tcp(false);
    const second = tcp(false);
    expect(limits.admit(request, first as unknown as Duplex, '10.0.0.1')).toBeNull();
    expect(limits.admit(request, second as unknown as Duplex, '10.0.0.1')).toBeNull();
    expect(limits.connections).toBe(2);
    first.emit('close');
    first.emit('close');
    expect(limits.connections).toBe(1);
    expect(limits.admit(request, tcp(true) as unknown as Duplex, '10.0.0.1')).toBeNull();
    expect(limits.connections).toBe(1);
    second.emit('close');
    expect(limits.connections).toBe(0);
  });

  test('no closure per tracked client: every client shares the same listeners', () => {
    const heartbeatLimits = new ConnectionLimits({ ...LIMITS, heartbeatInterval: 1000 }, createLogger('silent', 'worker'), () => now);
    const a = new FakeSocket();
    const b = new FakeSocket();
    heartbeatLimits.track(a as unknown as WebSocket);
    heartbeatLimits.track(b as unknown as WebSocket);
    // A fake has no ws receiver: pongs come through a shared 'pong' listener; closes through untrack, from the client's owner.
    expect(a.listeners('pong')).toHaveLength(1);
    expect(a.listeners('pong')).toEqual(b.listeners('pong'));
    expect(a.listeners('close')).toHaveLength(0);
    // Each shared listener acts on the socket it is called on: a pongs, b does not and is reaped.
    const heartbeat = (heartbeatLimits as unknown as { heartbeat: Heartbeat<WebSocket> }).heartbeat;
    heartbeat.sweep();
    a.emit('pong');
    heartbeat.sweep();
    expect([a.readyState, b.readyState]).toEqual([WebSocket.OPEN, WebSocket.CLOSED]);
    expect(heartbeat.reaped).toBe(1);
    // a did not answer the second ping: reaped on the next tick; b, gone, is not counted again.
    heartbeat.sweep();
    expect(heartbeat.reaped).toBe(2);
    expect(a.readyState).toBe(WebSocket.CLOSED);
    heartbeatLimits.close();
  });
});

test('permessage-deflate: off unless turned on; on, memory-bounded zlib settings', () => {
  expect(perMessageDeflateOptions({ perMessageDeflate: false })).toBe(false);
  expect(perMessageDeflateOptions({ perMessageDeflate: true })).toEqual({ concurrencyLimit: INFLATE_CONCURRENCY, threshold: 1024, zlibDeflateOptions: { memLevel: 7 } });
});

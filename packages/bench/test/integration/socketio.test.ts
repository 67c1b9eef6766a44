import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { benchOptions, runBench } from '../../src';

// A one-process Socket.IO server doing what the cluster baseline's workers do (suite/baselines/socketio-worker.ts).
let http: HttpServer | undefined;
let io: Server | undefined;

async function start(mode: 'echo' | 'fanout'): Promise<number> {
  http = createServer();
  io = new Server(http, { transports: ['websocket'], serveClient: false });
  io.on('connection', (socket) => {
    if (mode === 'fanout') void socket.join('bench');
    socket.on('message', (payload: unknown) => {
      if (mode === 'fanout') io?.to('bench').emit('message', payload);
      else socket.emit('message', payload);
    });
  });
  await new Promise<void>((resolve) => http?.listen({ port: 0, host: '127.0.0.1' }, resolve));
  return (http.address() as AddressInfo).port;
}

afterEach(async () => {
  await new Promise<void>((resolve) => (io === undefined ? resolve() : void io.close(() => resolve())));
  io = undefined;
  http = undefined;
});

test('echo over Socket.IO: handshake, wrapped messages, replies timed, no errors', async () => {
  const port = await start('echo');
  const result = await runBench(benchOptions({ scenario: 'echo', url: `ws://127.0.0.1:${port}`, protocol: 'socketio', connections: 5, inflight: 2, duration: 1, warmup: 0.2 }));
  expect(result.opened).toBe(5);
  expect(result.messages).toBeGreaterThan(0);
  expect(result.latencyUs.count).toBe(result.messages);
  expect(result.errors).toEqual({});
});

test('fan-out over Socket.IO: every subscriber gets every numbered message', async () => {
  const port = await start('fanout');
  const result = await runBench(benchOptions({ scenario: 'fanout', url: `ws://127.0.0.1:${port}/`, protocol: 'socketio', connections: 20, inflight: 1, duration: 1, warmup: 0.2 }));
  expect(result.opened).toBe(20);
  expect(result.messages).toBeGreaterThan(0);
  expect(result.missed).toBe(0);
  expect(result.errors).toEqual({});
});

test('connect over Socket.IO holds connections past a ping', async () => {
  http = createServer();
  // Pings every 100 ms, 200 ms to answer: an unanswered ping would close the held connections.
  io = new Server(http, { transports: ['websocket'], serveClient: false, pingInterval: 100, pingTimeout: 200 });
  await new Promise<void>((resolve) => http?.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const port = (http.address() as AddressInfo).port;
  const result = await runBench(benchOptions({ scenario: 'connect', url: `ws://127.0.0.1:${port}`, protocol: 'socketio', connections: 10, hold: 1 }));
  expect(result.opened).toBe(10);
  expect(result.errors).toEqual({});
});

test('a path that is not Socket.IO fails the handshake with a reason', async () => {
  const port = await start('echo');
  const result = await runBench(benchOptions({ scenario: 'connect', url: `ws://127.0.0.1:${port}/elsewhere/`, protocol: 'socketio', connections: 2, hold: 0, connectTimeout: 2 }));
  expect(result.opened).toBe(0);
  expect(Object.keys(result.errors).length).toBeGreaterThan(0);
});

import { once } from 'node:events';
import * as net from 'node:net';
import { acceptFor } from '../../src/lean-ws/handshake';
import { LeanSocket, ReadyState } from '../../src/lean-ws/lean-socket';
import { Opcode } from '../../src/lean-ws/wire';
import { closeFrame, readClientFrames, serverFrame, type ClientFrame } from './raw-frames';

/** One connection to the raw server: what the client sent after the handshake, and the means to answer. */
interface Peer {
  readonly socket: net.Socket;
  readonly request: string;
  /** Client bytes after the request head. */
  received: Buffer;
  frames(): ClientFrame[];
  /** Resolves once `count` client frames in all have arrived. */
  waitForFrames(count: number): Promise<ClientFrame[]>;
}

let server: net.Server | undefined;
const peers: Peer[] = [];
/** Every server-side socket, so each test ends with none left (server.close() waits for them). */
const serverSockets = new Set<net.Socket>();

function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  server = net.createServer((socket) => {
    serverSockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => (server?.address() as net.AddressInfo).port);
}

/** A TCP server that reads the upgrade request and answers it with `answer(key)`, plus `after` in the same write. */
async function rawServer(answer: (key: string) => string = accepting, after: Buffer = Buffer.alloc(0)): Promise<{ url: string; peer: Promise<Peer> }> {
  let resolvePeer: (peer: Peer) => void = () => undefined;
  const peer = new Promise<Peer>((resolve) => { resolvePeer = resolve; });
  const port = await listen((socket) => {
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onHead);
      const request = head.subarray(0, end + 4).toString('latin1');
      const key = /Sec-WebSocket-Key: (\S+)/.exec(request)?.[1] ?? '';
      let waiters: Array<() => void> = [];
      const connection: Peer = {
        socket,
        request,
        received: head.subarray(end + 4),
        frames: () => readClientFrames(connection.received),
        waitForFrames: (count) => new Promise((resolve) => {
          const check = (): void => {
            const frames = connection.frames();
            if (frames.length < count) return;
            waiters = waiters.filter((w) => w !== check);
            resolve(frames);
          };
          waiters.push(check);
          check();
        }),
      };
      socket.on('data', (more: Buffer) => {
        connection.received = Buffer.concat([connection.received, more]);
        for (const waiter of [...waiters]) waiter();
      });
      peers.push(connection);
      socket.write(Buffer.concat([Buffer.from(answer(key), 'latin1'), after]));
      resolvePeer(connection);
    };
    socket.on('data', onHead);
  });
  return { url: `ws://127.0.0.1:${port}/path`, peer };
}

function accepting(key: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
}

function closed(socket: LeanSocket): Promise<number> {
  return new Promise((resolve) => socket.once('close', resolve));
}

afterEach(async () => {
  peers.length = 0;
  for (const socket of serverSockets) socket.destroy();
  serverSockets.clear();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  server = undefined;
});

test('opens from the given source address, and parses frames that came in the same write as the 101', async () => {
  const { url, peer } = await rawServer(accepting, serverFrame(Opcode.PING, 'early'));
  const socket = await LeanSocket.open(url, '127.0.0.2', 2000);
  const connection = await peer;
  expect(connection.socket.remoteAddress).toBe('127.0.0.2');
  expect(connection.request).toMatch(/^GET \/path HTTP\/1\.1\r\n/);
  expect(socket.readyState).toBe(ReadyState.OPEN);
  const [pong] = await connection.waitForFrames(1);
  expect(pong?.payload.toString()).toBe('early');
  const seen: string[] = [];
  socket.onMessage = (data) => seen.push(data.toString());
  connection.socket.write(serverFrame(Opcode.TEXT, 'later'));
  await new Promise<void>((resolve) => { const poll = (): void => void (seen.length > 0 ? resolve() : setTimeout(poll, 5)); poll(); });
  expect(seen).toEqual(['later']);
  socket.terminate();
});

test('sends masked text or binary frames as ws would choose', async () => {
  const { url, peer } = await rawServer();
  const socket = await LeanSocket.open(url, '127.0.0.1', 2000);
  const connection = await peer;
  socket.send(Buffer.from('{"a":1}'), { binary: false });
  socket.send('str');
  socket.send(Buffer.from([1, 2]));
  const frames = await connection.waitForFrames(3);
  expect(frames.map((f) => [f.opcode, f.masked, f.payload.toString('latin1')])).toEqual([
    [Opcode.TEXT, true, '{"a":1}'],
    [Opcode.TEXT, true, 'str'],
    [Opcode.BINARY, true, '\x01\x02'],
  ]);
  socket.terminate();
});

test('a ping is answered with a masked pong carrying the same payload', async () => {
  const { url, peer } = await rawServer();
  const socket = await LeanSocket.open(url, '127.0.0.1', 2000);
  const connection = await peer;
  connection.socket.write(serverFrame(Opcode.PING, 'are you there'));
  const [pong] = await connection.waitForFrames(1);
  expect(pong).toMatchObject({ opcode: Opcode.PONG, fin: true, masked: true });
  expect(pong?.payload.toString()).toBe('are you there');
  socket.terminate();
});

test('a close from the server is echoed (masked) and reported with its code once the connection ends', async () => {
  const { url, peer } = await rawServer();
  const socket = await LeanSocket.open(url, '127.0.0.1', 2000);
  const connection = await peer;
  const code = closed(socket);
  connection.socket.write(closeFrame(4002, 'bye'));
  const [echo] = await connection.waitForFrames(1);
  expect(echo).toMatchObject({ opcode: Opcode.CLOSE, masked: true });
  expect(echo?.payload.readUInt16BE(0)).toBe(4002);
  expect(socket.readyState).toBe(ReadyState.CLOSING);
  // The client ends its side once both close frames are out; the server then closes.
  await once(connection.socket, 'end');
  connection.socket.end();
  expect(await code).toBe(4002);
  expect(socket.readyState).toBe(ReadyState.CLOSED);
});

test('close() sends a close frame and finishes on the server answer', async () => {
  const { url, peer } = await rawServer();
  const socket = await LeanSocket.open(url, '127.0.0.1', 2000);
  const connection = await peer;
  const code = closed(socket);
  socket.close(1000);
  const [frame] = await connection.waitForFrames(1);
  expect(frame?.payload.readUInt16BE(0)).toBe(1000);
  connection.socket.write(closeFrame(1000));
  await once(connection.socket, 'end');
  connection.socket.end();
  expect(await code).toBe(1000);
});

test('a protocol error is emitted with ws\'s code, answered with close 1002, and the close reports 1006', async () => {
  const { url, peer } = await rawServer();
  const socket = await LeanSocket.open(url, '127.0.0.1', 2000);
  const connection = await peer;
  const errors: Array<NodeJS.ErrnoException> = [];
  socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error));
  const code = closed(socket);
  connection.socket.write(serverFrame(Opcode.TEXT, 'x', { maskKey: Buffer.from([9, 9, 9, 9]) }));
  const [frame] = await connection.waitForFrames(1);
  expect(frame?.payload.readUInt16BE(0)).toBe(1002);
  await once(connection.socket, 'end');
  connection.socket.end();
  expect(await code).toBe(1006);
  expect(errors.map((e) => e.code)).toEqual(['WS_ERR_UNEXPECTED_MASK']);
});

test('a connection dropped without a close frame reports 1006 and no error', async () => {
  const { url, peer } = await rawServer();
  const socket = await LeanSocket.open(url, '127.0.0.1', 2000);
  const connection = await peer;
  const errors: unknown[] = [];
  socket.on('error', (error) => errors.push(error));
  const code = closed(socket);
  connection.socket.end();
  expect(await code).toBe(1006);
  expect(errors).toEqual([]);
});

describe('a failed opening rejects with the reason ws gives', () => {
  test('an HTTP status', async () => {
    const { url } = await rawServer(() => 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    await expect(LeanSocket.open(url, '127.0.0.1', 2000)).rejects.toThrow('HTTP 404');
  });

  test('a wrong accept value', async () => {
    const { url } = await rawServer(() => accepting('c29tZSBvdGhlciBrZXkhIQ=='));
    await expect(LeanSocket.open(url, '127.0.0.1', 2000)).rejects.toThrow('Invalid Sec-WebSocket-Accept header');
  });

  test('no answer in time', async () => {
    const port = await listen(() => undefined);
    const started = performance.now();
    await expect(LeanSocket.open(`ws://127.0.0.1:${port}/`, '127.0.0.1', 150)).rejects.toThrow('Opening handshake has timed out');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('nothing listening', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await expect(LeanSocket.open(`ws://127.0.0.1:${port}/`, '127.0.0.1', 2000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('a hang-up before the answer', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.destroy()));
    await expect(LeanSocket.open(`ws://127.0.0.1:${port}/`, '127.0.0.1', 2000)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});

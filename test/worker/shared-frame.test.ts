import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { DIRECT_FRAME_MAX, frameMessage, frameOnce, takesSharedFrames, writeSharedFrame } from '../../src/worker/shared-frame';

/** Reads a server frame's header the way RFC 6455 lays it out. */
function header(frame: Buffer): { fin: boolean; opcode: number; masked: boolean; length: number; offset: number } {
  const short = (frame[1] as number) & 0x7f;
  const [length, offset] = short === 126 ? [frame.readUInt16BE(2), 4] : short === 127 ? [Number(frame.readBigUInt64BE(2)), 10] : [short, 2];
  return { fin: ((frame[0] as number) & 0x80) !== 0, opcode: (frame[0] as number) & 0x0f, masked: ((frame[1] as number) & 0x80) !== 0, length, offset };
}

test.each([0, 1, 125, 126, 65535, 65536, 70000])('a %i-byte payload is framed with the shortest length encoding, unmasked', (size) => {
  const payload = Buffer.alloc(size, 7);
  const frame = frameOnce(payload, true);
  const parsed = header(frame);
  expect(parsed).toMatchObject({ fin: true, opcode: 2, masked: false, length: size });
  expect(parsed.offset).toBe(size < 126 ? 2 : size < 65536 ? 4 : 10);
  expect(frame.length).toBe(parsed.offset + size);
  expect(frame.subarray(parsed.offset).equals(payload)).toBe(true);
  expect(header(frameOnce(Buffer.from('hi'), false)).opcode).toBe(1);
});

test.each([0, 1, 125, 126, 2000, 65535, 65536])('a single message of %i bytes framed from its string or its Buffer: the same bytes as frameOnce', (size) => {
  // Multi-byte characters, so a string's length and its UTF-8 byte length differ.
  const text = 'é€😀a'.repeat(Math.ceil(size / 10)).slice(0, size);
  const bytes = Buffer.from(text, 'utf8');
  expect(frameMessage(text, bytes.length, false).equals(frameOnce(bytes, false))).toBe(true);
  expect(frameMessage(bytes, bytes.length, true).equals(frameOnce(bytes, true))).toBe(true);
  expect(frameMessage(bytes, bytes.length, false).equals(frameOnce(bytes, false))).toBe(true);
});

describe('against real ws clients', () => {
  let server: http.Server;
  let plain: WebSocketServer;
  let deflating: WebSocketServer;
  const opened: WebSocket[] = [];

  beforeAll(async () => {
    plain = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    deflating = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0 } });
    server = http.createServer();
    server.on('upgrade', (request, socket, head) => {
      const wss = request.url === '/deflate' ? deflating : plain;
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of opened) socket.terminate();
    plain.close();
    deflating.close();
    await new Promise((resolve) => server.close(resolve));
  });

  async function pair(path: string, wss: WebSocketServer): Promise<{ server: WebSocket; client: WebSocket }> {
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, { perMessageDeflate: path === '/deflate' });
    opened.push(client);
    await new Promise((resolve) => client.once('open', resolve));
    const serverSide = await accepted;
    opened.push(serverSide);
    return { server: serverSide, client };
  }

  test('one shared frame, written to several sockets between ws sends, arrives intact and in order', async () => {
    const a = await pair('/', plain);
    const b = await pair('/', plain);
    expect(takesSharedFrames(a.server)).toBe(true);
    const text = 'héllo '.repeat(30);
    const frame = frameOnce(Buffer.from(text, 'utf8'), false);
    const received = (client: WebSocket, count: number): Promise<string[]> =>
      new Promise((resolve) => {
        const got: string[] = [];
        client.on('message', (data) => {
          got.push(String(data));
          if (got.length === count) resolve(got);
        });
      });
    const onA = received(a.client, 3);
    const onB = received(b.client, 1);
    a.server.send('before');
    writeSharedFrame(a.server, frame);
    writeSharedFrame(b.server, frame);
    a.server.send('after');
    expect(await onA).toEqual(['before', text, 'after']);
    expect(await onB).toEqual([text]);
  });

  test('single messages framed here, between ws sends and shared frames, arrive intact and in order, text as text and binary as binary', async () => {
    const { server: serverSide, client } = await pair('/', plain);
    const small = 'héllo 😀';
    const binary = Buffer.from([0, 1, 2, 0x0a, 255]);
    const large = 'x'.repeat(DIRECT_FRAME_MAX);
    const got: Array<[string, boolean]> = [];
    const all = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer, isBinary: boolean) => {
        got.push([isBinary ? data.toString('hex') : data.toString('utf8'), isBinary]);
        if (got.length === 5) resolve();
      });
    });
    serverSide.send('first');
    writeSharedFrame(serverSide, frameMessage(small, Buffer.byteLength(small), false));
    writeSharedFrame(serverSide, frameMessage(binary, binary.length, true));
    writeSharedFrame(serverSide, frameOnce(Buffer.from('shared'), false));
    serverSide.send(large);
    await all;
    expect(got).toEqual([['first', false], [small, false], [binary.toString('hex'), true], ['shared', false], [large, false]]);
  });

  test('a socket with permessage-deflate does not take shared frames', async () => {
    const { server: serverSide } = await pair('/deflate', deflating);
    expect(serverSide.extensions).toContain('permessage-deflate');
    expect(takesSharedFrames(serverSide)).toBe(false);
  });
});

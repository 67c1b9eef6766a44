import * as net from 'node:net';
import { encodeBatch, writeBytes } from '../../src/ipc/link-codec';
import { LINK_READ_BUFFER_SIZE, SocketEndpoint, acceptLink, connectLink, readLines, type LineReaderHooks } from '../../src/ipc/socket-endpoint';
import { SocketDir, Waiter, nextTurn, poll } from '../helpers/line-peer';

let sockets: SocketDir;

beforeEach(() => {
  sockets = new SocketDir();
});

afterEach(async () => {
  await sockets.close();
});

/** What `readLines` reported, and when the reading socket closed. */
interface Reader {
  readonly values: unknown[];
  readonly malformed: Error[];
  readonly overflows: number[];
  readonly badRaw: string[];
  /** Chunks as the reading socket delivered them. */
  readonly chunks: Buffer[];
  readonly socket: net.Socket;
  closed: boolean;
  until(predicate: () => boolean): Promise<void>;
}

/**
 * A reading end (the accepted socket, under `readLines`) and a writing end
 * (a client socket) of one real Unix-socket connection.
 */
async function pair(
  maxLineLength = 1 << 20,
  onValue: (value: unknown, socket: net.Socket) => void = () => undefined,
  maxRawLength = 1 << 20,
): Promise<{ reader: Reader; writer: net.Socket; write(data: string | Buffer): Promise<void> }> {
  const socketPath = sockets.path('pair');
  const waiter = new Waiter();
  let accepted!: net.Socket;
  const server = net.createServer((socket) => {
    accepted = socket;
    waiter.notify();
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const writer = await sockets.connect(socketPath);
  await waiter.until(() => accepted !== undefined, () => 'accept');
  // Not accepting any more: the server handle goes once the connection does.
  server.close();
  const reader: Reader = {
    values: [],
    malformed: [],
    overflows: [],
    badRaw: [],
    chunks: [],
    socket: accepted,
    closed: false,
    until: (predicate) => waiter.until(predicate, () => `values ${JSON.stringify(reader.values)}, malformed ${reader.malformed.length}, overflows ${JSON.stringify(reader.overflows)}, closed ${reader.closed}`),
  };
  readLines(accepted, maxLineLength, {
    onValue: (value) => {
      reader.values.push(value);
      onValue(value, accepted);
      waiter.notify();
    },
    onMalformed: (error) => {
      reader.malformed.push(error);
      waiter.notify();
    },
    onOverflow: (length) => {
      reader.overflows.push(length);
      waiter.notify();
    },
    onBadRaw: (reason) => {
      reader.badRaw.push(reason);
      waiter.notify();
    },
  }, maxRawLength);
  // Registered after readLines' own listener: a chunk is recorded once readLines has taken it.
  accepted.on('data', (chunk: Buffer) => {
    reader.chunks.push(chunk);
    waiter.notify();
  });
  accepted.on('error', () => undefined);
  accepted.once('close', () => {
    reader.closed = true;
    waiter.notify();
  });
  const write = async (data: string | Buffer): Promise<void> => {
    // One write, then wait until the reader has taken it: the next write is a chunk of its own.
    const before = reader.chunks.length;
    writer.write(data);
    await reader.until(() => reader.chunks.length > before || reader.closed);
  };
  return { reader, writer, write };
}

describe('readLines', () => {
  test('a line split across chunks arrives once, whole', async () => {
    const { reader, write } = await pair();
    await write('{"type":"he');
    await write('llo","worker":');
    expect(reader.values).toEqual([]);
    await write('3}\n');
    await reader.until(() => reader.values.length === 1);
    expect(reader.chunks.length).toBeGreaterThanOrEqual(3);
    expect(reader.values).toEqual([{ type: 'hello', worker: 3 }]);
    expect(reader.malformed).toEqual([]);
  });

  test('several lines in one chunk arrive in order, with a partial tail kept for the next chunk', async () => {
    const { reader, write } = await pair();
    await write('[1]\n[2,3]\n{"a":"b"}\n[4');
    expect(reader.values).toEqual([[1], [2, 3], { a: 'b' }]);
    await write(']\n[5]\n');
    await reader.until(() => reader.values.length === 5);
    expect(reader.values).toEqual([[1], [2, 3], { a: 'b' }, [4], [5]]);
  });

  test('a multi-byte UTF-8 character split across chunks is decoded whole', async () => {
    const { reader, write } = await pair();
    const text = 'héllo € 𝄞 終';
    const bytes = Buffer.from(`${JSON.stringify([text])}\n`, 'utf8');
    // Cut inside the 3-byte euro sign, then inside the 4-byte clef.
    const euro = bytes.indexOf(Buffer.from('€', 'utf8'));
    const clef = bytes.indexOf(Buffer.from('𝄞', 'utf8'));
    await write(bytes.subarray(0, euro + 1));
    await write(bytes.subarray(euro + 1, clef + 2));
    await write(bytes.subarray(clef + 2));
    await reader.until(() => reader.values.length === 1);
    expect(reader.chunks.length).toBeGreaterThanOrEqual(3);
    expect(reader.values).toEqual([[text]]);
  });

  test('an unparsable line is reported and the lines after it still arrive', async () => {
    const { reader, write } = await pair();
    await write('[1]\nnot json\n[2]\n{"unterminated":\n');
    await write('[3]\n');
    await reader.until(() => reader.values.length === 3);
    expect(reader.values).toEqual([[1], [2], [3]]);
    expect(reader.malformed).toHaveLength(2);
    expect(reader.malformed[0]).toBeInstanceOf(SyntaxError);
    expect(reader.closed).toBe(false);
  });

  test('empty lines are skipped', async () => {
    const { reader, write } = await pair();
    await write('\n\n[1]\n\n');
    await reader.until(() => reader.values.length === 1);
    expect(reader.values).toEqual([[1]]);
    expect(reader.malformed).toEqual([]);
  });

  test('a partial line growing past maxLineLength is reported and the socket destroyed', async () => {
    const { reader, writer, write } = await pair(64);
    await write('[1]\n["');
    await write('x'.repeat(40));
    expect(reader.overflows).toEqual([]);
    await write('x'.repeat(40));
    await reader.until(() => reader.closed);
    expect(reader.values).toEqual([[1]]);
    expect(reader.overflows).toEqual([82]);
    expect(reader.socket.destroyed).toBe(true);
    // The writing end sees the link cut.
    await new Promise<void>((resolve) => (writer.closed ? resolve() : writer.once('close', () => resolve())));
  });

  test('a line past maxLineLength overflows however the chunks fall: whole in one chunk', async () => {
    const { reader, write } = await pair(64);
    await write(`[1]\n${JSON.stringify(['x'.repeat(100)])}\n[2]\n`);
    await reader.until(() => reader.closed);
    expect(reader.values).toEqual([[1]]);
    expect(reader.overflows).toEqual([104]);
  });

  test('a line past maxLineLength overflows however the chunks fall: a long tail after a complete line', async () => {
    const { reader, write } = await pair(64);
    // The tail alone is past the bound: it must not be kept waiting for its newline.
    await write(`[1]\n["${'x'.repeat(100)}`);
    await reader.until(() => reader.closed);
    expect(reader.values).toEqual([[1]]);
    expect(reader.overflows).toEqual([102]);
  });

  test('a line past maxLineLength overflows however the chunks fall: completed by the next chunk', async () => {
    const { reader, write } = await pair(64);
    await write(`["${'x'.repeat(60)}`);
    expect(reader.closed).toBe(false);
    await write(`${'x'.repeat(20)}"]\n[2]\n`);
    await reader.until(() => reader.closed);
    expect(reader.values).toEqual([]);
    expect(reader.overflows).toEqual([84]);
  });

  test('a line of exactly maxLineLength is read', async () => {
    const { reader, write } = await pair(64);
    const line = JSON.stringify(['x'.repeat(60)]);
    expect(line).toHaveLength(64);
    await write(line.slice(0, 30));
    await write(`${line.slice(30)}\n${line}\n`);
    await reader.until(() => reader.values.length === 2);
    expect(reader.overflows).toEqual([]);
    expect(reader.closed).toBe(false);
  });

  test('a handler that destroys the socket stops the reading of the rest of the chunk', async () => {
    const { reader, write } = await pair(1 << 20, (value, socket) => {
      if (JSON.stringify(value) === '["stop"]') socket.destroy();
    });
    await write('[1]\n["stop"]\n[2]\n[3]\n');
    await reader.until(() => reader.closed);
    expect(reader.values).toEqual([[1], ['stop']]);
  });
});

describe('readLines: raw segments', () => {
  test('a batch with raw segments split across chunks arrives once, its payloads in place', async () => {
    const { reader, write } = await pair();
    const bytes = writeBytes(encodeBatch([{ type: 'send', id: 'a', data: Buffer.from([0x0a, 0x5b, 0x00, 0xff]), binary: true }, { type: 'ack', seqs: [1] }]));
    const line = bytes.indexOf(0x0a);
    // Cut inside the line, then between the line and its segment, then inside the segment (at its newline byte).
    await write(bytes.subarray(0, 5));
    await write(bytes.subarray(5, line + 1));
    expect(reader.values).toEqual([]);
    await write(bytes.subarray(line + 1, line + 2));
    expect(reader.values).toEqual([]);
    await write(bytes.subarray(line + 2));
    await reader.until(() => reader.values.length === 1);
    expect(reader.values).toEqual([[{ type: 'send', id: 'a', data: Buffer.from([0x0a, 0x5b, 0x00, 0xff]), binary: true }, { type: 'ack', seqs: [1] }]]);
  });

  test('a raw length that is not a byte count is reported and the socket destroyed', async () => {
    const { reader, write } = await pair();
    await write('[1]\n[{"type":"send","raw":-1}]\n[2]\n');
    await reader.until(() => reader.closed);
    expect(reader.values).toEqual([[1]]);
    expect(reader.badRaw).toHaveLength(1);
    expect(reader.socket.destroyed).toBe(true);
  });

  test('raw segments past maxRawLength are reported before any of their bytes are read', async () => {
    const { reader, write } = await pair(1 << 20, undefined, 100);
    await write('[{"raw":60},{"raw":41}]\n');
    await reader.until(() => reader.closed);
    expect(reader.values).toEqual([]);
    expect(reader.badRaw[0]).toMatch(/101 bytes/);
  });
});

describe('SocketEndpoint', () => {
  test('send writes a batch with a binary payload as its line and the raw bytes after it', async () => {
    const { reader, writer } = await pair();
    const endpoint = new SocketEndpoint(writer);
    const data = Buffer.alloc(300_000, 0x0a);
    const written = await new Promise<Error | null>((resolve) => endpoint.send([{ type: 'message', id: '1.1', seq: 1, data, binary: true }], resolve));
    expect(written).toBeNull();
    await reader.until(() => reader.values.length === 1);
    const [[message]] = reader.values as [[{ data: Buffer }]];
    expect({ ...message, data: undefined }).toEqual({ type: 'message', id: '1.1', seq: 1, data: undefined, binary: true });
    // equals(), not toEqual: jest walks a 300,000-byte Buffer index by index.
    expect(data.equals(message.data)).toBe(true);
    // Not base64: the bytes on the wire are the line plus the payload itself.
    expect(Buffer.concat(reader.chunks).length).toBe(Buffer.byteLength('[{"type":"message","id":"1.1","seq":1,"binary":true,"raw":300000}]\n') + data.length);
  });

  test('send writes one line per batch and reports the write', async () => {
    const server = await sockets.server('endpoint');
    const socket = await sockets.connect(server.path);
    const endpoint = new SocketEndpoint(socket);
    expect(endpoint.connected).toBe(true);
    const written: Array<Error | null> = [];
    endpoint.send([{ type: 'hello', worker: 1 }], (error) => written.push(error));
    endpoint.send([{ type: 'message', id: '1.1', seq: 1, data: 'line\nbreak' }, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 2 }], (error) => written.push(error));
    const peer = await server.peer(0);
    await peer.until(() => peer.lines.length === 2);
    expect(peer.lines).toEqual([
      [{ type: 'hello', worker: 1 }],
      [{ type: 'message', id: '1.1', seq: 1, data: 'line\nbreak' }, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 2 }],
    ]);
    await nextTurn();
    expect(written).toEqual([null, null]);
  });

  test('connected is false once the socket is destroyed, or ended', async () => {
    const server = await sockets.server('endpoint');
    const ending = await sockets.connect(server.path);
    const destroyed = await sockets.connect(server.path);
    const first = new SocketEndpoint(ending);
    const second = new SocketEndpoint(destroyed);
    expect(first.connected && second.connected).toBe(true);
    destroyed.destroy();
    expect(second.connected).toBe(false);
    expect(first.connected).toBe(true);
    const peer = await server.peer(0);
    ending.end();
    expect(first.connected).toBe(false);
    await peer.until(() => peer.ended);
  });

  test('a write on a destroyed socket reports an error to its callback', async () => {
    const server = await sockets.server('endpoint');
    const socket = await sockets.connect(server.path);
    const endpoint = new SocketEndpoint(socket);
    socket.destroy();
    const error = await new Promise<Error | null>((resolve) => endpoint.send([1], resolve));
    expect(error).toMatchObject({ code: 'ERR_STREAM_DESTROYED' });
  });
});

describe('connectLink and acceptLink: links read into a reused buffer', () => {
  /** What one end decoded, and its waiter. */
  interface End {
    readonly values: unknown[];
    readonly badRaw: string[];
    readonly hooks: LineReaderHooks;
    until(predicate: () => boolean): Promise<void>;
  }

  function end(): End {
    const waiter = new Waiter();
    const values: unknown[] = [];
    const badRaw: string[] = [];
    const notify = (): void => waiter.notify();
    return {
      values,
      badRaw,
      hooks: {
        onValue: (value) => {
          values.push(value);
          notify();
        },
        onMalformed: notify,
        onOverflow: notify,
        onBadRaw: (reason) => {
          badRaw.push(reason);
          notify();
        },
      },
      until: (predicate) => waiter.until(predicate, () => `${values.length} values, bad raw ${JSON.stringify(badRaw)}`),
    };
  }

  /** A link: the server accepts with pauseOnConnect and acceptLink; the client is connectLink's. */
  async function link(): Promise<{ accepted: net.Socket; served: net.Socket; client: net.Socket; server: net.Server; atServer: End; atClient: End }> {
    const socketPath = sockets.path('link');
    const atServer = end();
    const atClient = end();
    const waiter = new Waiter();
    let pair: { accepted: net.Socket; served: net.Socket } | undefined;
    const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
      pair = { accepted, served: acceptLink(accepted, 1 << 20, atServer.hooks, 1 << 25) };
      waiter.notify();
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const client = connectLink(socketPath, 1 << 20, atClient.hooks, 1 << 25);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await waiter.until(() => pair !== undefined, () => 'accept');
    const { accepted, served } = pair as { accepted: net.Socket; served: net.Socket };
    cleanups.push(() => {
      client.destroy();
      served.destroy();
      server.close();
    });
    return { accepted, served, client, server, atServer, atClient };
  }

  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 8)) & 0xff;
  const text = 'é€𝄞 big text '.repeat(8000);
  const WRITES: readonly (readonly unknown[])[] = [
    [{ type: 'hello', worker: 1 }],
    [{ type: 'message', id: '1.1', seq: 1, data: big, binary: true }, { type: 'ack', seqs: [1] }],
    [{ type: 'message', id: '1.1', seq: 2, data: text }, { type: 'message', id: '1.1', seq: 3, data: Buffer.from([0x0a, 0x00]), binary: true }],
    [{ type: 'message', id: '1.1', seq: 4, data: 'small' }],
  ];
  const DECODED = WRITES.map((batch) => batch.map((m) => (typeof (m as { data?: unknown }).data === 'string' && (m as { data: string }).data === text ? { ...(m as object), data: Buffer.from(text) } : m)));

  /** Every Buffer as its base64: a 3 MiB Buffer compared by jest index by index takes seconds. */
  function plain(value: unknown): unknown {
    if (Buffer.isBuffer(value)) return { bytes: value.toString('base64') };
    if (Array.isArray(value)) return value.map(plain);
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, plain(v)]));
    return value;
  }

  test('writes both ways arrive whole and in order, a big segment in one buffer of its length', async () => {
    const { served, client, atServer, atClient } = await link();
    const fromClient = new SocketEndpoint(client);
    const fromServer = new SocketEndpoint(served);
    for (const batch of WRITES) {
      fromClient.send(batch, () => undefined);
      fromServer.send(batch, () => undefined);
    }
    await atServer.until(() => atServer.values.length === WRITES.length);
    await atClient.until(() => atClient.values.length === WRITES.length);
    for (const seen of [atServer.values, atClient.values]) {
      expect(plain(seen)).toEqual(plain(DECODED));
      const segment = ((seen[1] as unknown[])[0] as { data: Buffer }).data;
      // Its own allocation, not a view of reads: gathered (or read) into one buffer of the segment's size.
      expect(segment.buffer.byteLength).toBe(big.length);
    }
  });

  test('what a reader keeps is not overwritten by later reads into its buffer', async () => {
    const { client, served, atServer } = await link();
    const first = Buffer.from('first payload bytes');
    const second = Buffer.alloc(first.length, 0x21);
    client.write(writeBytes(encodeBatch([{ data: first, binary: true }, { data: 'x' }])));
    await atServer.until(() => atServer.values.length === 1);
    // A line split over two reads, then a batch that fills the same read buffer with other bytes.
    const read = served.bytesRead;
    client.write('[{"part":');
    // Read on its own: the rest of the line comes in a later read, into the same buffer.
    await poll(() => served.bytesRead === read + 9);
    client.write(`1}]\n${'[0]\n'.repeat(LINK_READ_BUFFER_SIZE / 4)}`);
    client.write(writeBytes(encodeBatch([{ data: second, binary: true }])));
    await atServer.until(() => atServer.values.length === 3 + LINK_READ_BUFFER_SIZE / 4);
    expect(atServer.values[1]).toEqual([{ part: 1 }]);
    expect(((atServer.values[0] as unknown[])[0] as { data: Buffer }).data).toEqual(first);
    expect((atServer.values.at(-1) as [{ data: Buffer }])[0].data).toEqual(second);
  });

  test('the accepted socket hands its connection over: it is destroyed, the server counts none, the link still works', async () => {
    const { accepted, served, server, client, atServer } = await link();
    expect(served).not.toBe(accepted);
    expect(accepted.destroyed).toBe(true);
    const count = await new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
    expect(count).toBe(0);
    client.write('[1]\n');
    await atServer.until(() => atServer.values.length === 1);
    // The served socket ends when the client does.
    const closed = new Promise<void>((resolve) => served.once('close', () => resolve()));
    client.end();
    await closed;
  });

  test('a socket without a handle to move (not as Node 20-24 make them) is read through data events, as it is', () => {
    const atServer = end();
    const unconnected = new net.Socket();
    expect(acceptLink(unconnected, 1 << 20, atServer.hooks)).toBe(unconnected);
    unconnected.emit('data', Buffer.from('[1]\n[2'));
    unconnected.emit('data', Buffer.from(']\n'));
    expect(atServer.values).toEqual([[1], [2]]);
    unconnected.destroy();
  });

  test('a bad raw length cuts the link: the socket in use is destroyed', async () => {
    const { served, client, atServer } = await link();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.write('[{"raw":-1}]\n');
    await atServer.until(() => atServer.badRaw.length === 1);
    expect(served.destroyed).toBe(true);
    await closed;
  });
});

/**
 * Clients on bare `net` sockets, for inputs no WebSocket library sends: broken
 * HTTP, raw frames, a peer that ignores pings or stops reading. Every socket
 * opened here is destroyed by `closeRawClients()` (call it from afterEach).
 */
import * as net from 'node:net';
import { FrameReader, closeCode, type Frame } from './frames';
import { Waiter } from './line-peer';

const opened = new Set<net.Socket>();

function open(port: number, onConnect: (socket: net.Socket) => void): net.Socket {
  const socket = net.connect(port, '127.0.0.1', () => onConnect(socket));
  opened.add(socket);
  socket.on('close', () => opened.delete(socket));
  return socket;
}

/** Destroys every raw socket still open. */
export function closeRawClients(): void {
  for (const socket of opened) socket.destroy();
  opened.clear();
}

export interface RawResponse {
  /** Everything the server sent before closing. */
  readonly text: string;
  /** The status of the HTTP response, or undefined when the server closed without one. */
  readonly status: number | undefined;
}

function responseOf(text: string): RawResponse {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return { text, status: match === null ? undefined : Number(match[1]) };
}

/**
 * Writes `request` (then half-closes when `end`), and resolves with what the
 * server sent once it closes the connection: a response, or nothing.
 */
export function rawRequest(port: number, request: string | Buffer, options: { end?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    let text = '';
    const socket = open(port, (s) => (options.end === true ? s.end(request) : s.write(request)));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    // A reset after the answer is fine: what matters is what arrived and that the server hung up.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(responseOf(text)));
  });
}

/** A raw upgrade request; a header given as '' is left out. */
export function upgradeRequest(path: string, headers: Record<string, string> = {}, method = 'GET'): string {
  const all: Record<string, string> = {
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  };
  const lines = Object.entries(all).filter(([, value]) => value !== '').map(([name, value]) => `${name}: ${value}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** A WebSocket client made of a `net` socket: sends raw bytes, never answers pings, reads frames. */
export class RawClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader();
  private readonly waiter = new Waiter();

  constructor(readonly socket: net.Socket) {
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('close', () => this.waiter.notify());
  }

  /** Feeds bytes received from the server. */
  receive(chunk: Buffer): void {
    this.frames.push(...this.reader.push(chunk));
    this.waiter.notify();
  }

  /**
   * Resolves with the first frame (from the start) that matches; rejects if the
   * connection closes first, or after `ms`.
   */
  async frame(match: (frame: Frame) => boolean, ms = 15_000): Promise<Frame> {
    await this.waiter.until(
      () => this.frames.some(match) || this.socket.destroyed,
      () => `a matching frame among ${this.frames.length} received`,
      ms,
    );
    const found = this.frames.find(match);
    if (found === undefined) throw new Error('connection closed before the frame arrived');
    return found;
  }

  /** The code of the server's close frame (waiting for it), or undefined when the connection ended without one. */
  async closeCode(): Promise<number | undefined> {
    try {
      return closeCode((await this.frame((f) => f.opcode === 0x8)).payload);
    } catch {
      return undefined;
    }
  }
}

/** Opens a WebSocket connection by hand; resolves once the server answered 101. */
export function rawWebSocket(port: number, path: string, headers: Record<string, string> = {}): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const socket = open(port, (s) => s.write(upgradeRequest(path, headers)));
    const client = new RawClient(socket);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const status = head.subarray(0, end).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101 ')) {
        reject(new Error(`handshake refused: ${status.split('\r\n')[0]}`));
        return;
      }
      socket.on('data', (more: Buffer) => client.receive(more));
      client.receive(head.subarray(end + 4));
      resolve(client);
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
}

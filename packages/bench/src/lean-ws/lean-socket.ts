/**
 * A minimal WebSocket client for the bench's raw-protocol connections: one
 * `net` socket, the handshake by hand, frames parsed straight from the bytes
 * read. It exists because the load generator must never be the bottleneck: a
 * subscriber's receive path here is a read callback, a frame header and a
 * call with a view into the read buffer, where the `ws` client adds a stream
 * push, a Writable receiver, event emits and a Buffer per message.
 *
 * It behaves like the `ws` client where the bench can tell: the same
 * readyState numbers, 'error' only for protocol violations (never for a
 * dropped connection), 'close' once with the server's status code or 1006,
 * pings answered while open, the close handshake echoed, same error codes.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { encodeClientFrame, encodeCloseFrame } from './frame-encoder';
import { FrameParser, type FrameError } from './frame-parser';
import { handshakeFailure, newKey, ResponseHeadReader, upgradeRequest } from './handshake';
import { CLOSE_ABNORMAL, CLOSE_NO_STATUS, Opcode } from './wire';

/** The numbers of the `ws` package and the browser API, so callers compare readyState alike. */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** How long the server may take to finish a close handshake before the connection is cut (as `ws`). */
const CLOSE_TIMEOUT_MS = 30_000;

/**
 * One read buffer shared by every lean socket. Safe because a read is parsed
 * to its end before the event loop performs the next read, on any socket, and
 * the parser copies whatever must outlive the read. Saves a Buffer and a
 * stream push per read.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const ignore = (): void => undefined;

interface Opening {
  readonly key: string;
  readonly head: ResponseHeadReader;
  readonly timer: NodeJS.Timeout;
  readonly opened: (socket: LeanSocket) => void;
  readonly failed: (error: Error) => void;
}

function connectionReset(): Error {
  // What Node's HTTP client (and so `ws`) reports when the server hangs up before answering.
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

export class LeanSocket extends EventEmitter {
  /**
   * Opens a connection to a ws:// URL from `localAddress`. Rejects with an
   * Error whose `code` (connect failures) or message (`HTTP <status>`, a bad
   * handshake, 'Opening handshake has timed out') says why.
   */
  static open(url: string, localAddress: string, timeoutMs: number): Promise<LeanSocket> {
    const target = new URL(url);
    if (target.protocol !== 'ws:') return Promise.reject(new Error(`the lean client speaks ws:// only, not ${target.protocol}`));
    return new Promise((opened, failed) => {
      void new LeanSocket(target, localAddress, timeoutMs, opened, failed);
    });
  }

  /** Every text or binary message. `data` views a reused read buffer: read it during the call, copy what you keep. */
  onMessage: (data: Buffer, binary: boolean) => void = ignore;
  private state: number = ReadyState.CONNECTING;
  private opening: Opening | undefined;
  private readonly tcp: net.Socket;
  private readonly parser: FrameParser;
  /** What 'close' reports: the server's status code once its close frame came, else 1006. */
  private closeCode = CLOSE_ABNORMAL;
  private closeSent = false;
  private closeReceived = false;
  private protocolBroken = false;
  private closeTimer: NodeJS.Timeout | undefined;

  private constructor(url: URL, localAddress: string, timeoutMs: number, opened: (socket: LeanSocket) => void, failed: (error: Error) => void) {
    super();
    const key = newKey();
    this.parser = new FrameParser({
      message: (data, binary) => this.onMessage(data, binary),
      ping: (payload) => {
        if (this.state === ReadyState.OPEN) this.tcp.write(encodeClientFrame(Opcode.PONG, payload));
      },
      pong: ignore,
      close: (code) => {
        this.closeReceived = true;
        this.closeCode = code;
        this.close(code === CLOSE_NO_STATUS ? undefined : code);
      },
      error: (error: FrameError) => {
        this.protocolBroken = true;
        this.close(error.closeCode);
        this.emit('error', error);
      },
    });
    this.tcp = net.connect({
      host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? 80 : Number(url.port),
      localAddress,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes) => {
          this.received(bytes);
          return true;
        },
      },
    });
    this.tcp.setNoDelay(true);
    this.tcp.on('error', (error) => this.failOpening(error));
    this.tcp.on('end', () => {
      if (this.state === ReadyState.OPEN) this.state = ReadyState.CLOSING;
    });
    this.tcp.on('close', () => this.closed());
    this.opening = {
      key,
      head: new ResponseHeadReader(),
      timer: setTimeout(() => this.failOpening(new Error('Opening handshake has timed out')), timeoutMs),
      opened,
      failed,
    };
    this.tcp.write(upgradeRequest(url, key));
  }

  get readyState(): number {
    return this.state;
  }

  /** Sends one message; as `ws`, a Buffer goes as binary unless `binary: false`, a string as text. Dropped unless open. */
  send(data: Buffer | string, options?: { binary?: boolean }): void {
    if (this.state !== ReadyState.OPEN) return;
    const binary = options?.binary ?? typeof data !== 'string';
    this.tcp.write(encodeClientFrame(binary ? Opcode.BINARY : Opcode.TEXT, typeof data === 'string' ? Buffer.from(data) : data));
  }

  /** Starts the close handshake (or finishes it, answering the server's); the connection ends once both sides sent theirs. */
  close(code?: number): void {
    if (this.state === ReadyState.CLOSED) return;
    if (this.state === ReadyState.CONNECTING) return this.failOpening(new Error('WebSocket was closed before the connection was established'));
    if (this.state === ReadyState.OPEN) {
      this.tcp.write(encodeCloseFrame(code));
      this.closeSent = true;
      this.state = ReadyState.CLOSING;
      this.closeTimer = setTimeout(() => this.tcp.destroy(), CLOSE_TIMEOUT_MS);
    }
    // After a protocol error no close frame will come: end now, as `ws` does.
    if (this.closeSent && (this.closeReceived || this.protocolBroken)) this.tcp.end();
  }

  /** Cuts the connection without a close handshake. */
  terminate(): void {
    if (this.state === ReadyState.CLOSED) return;
    if (this.state === ReadyState.CONNECTING) return this.failOpening(new Error('WebSocket was closed before the connection was established'));
    this.state = ReadyState.CLOSING;
    this.parser.stop();
    this.tcp.destroy();
  }

  private received(bytes: number): void {
    if (this.opening === undefined) return this.parser.push(READ_BUFFER, 0, bytes);
    this.handshakeBytes(this.opening, bytes);
  }

  private handshakeBytes(opening: Opening, bytes: number): void {
    let headEnd: number;
    try {
      headEnd = opening.head.push(READ_BUFFER, 0, bytes);
    } catch (error) {
      return this.failOpening(error as Error);
    }
    if (headEnd === -1) return;
    const failure = handshakeFailure(opening.head.head, opening.key);
    if (failure !== undefined) return this.failOpening(new Error(failure));
    clearTimeout(opening.timer);
    this.opening = undefined;
    this.state = ReadyState.OPEN;
    opening.opened(this);
    // Frames may follow the response head in the same read.
    if (headEnd < bytes) this.parser.push(READ_BUFFER, headEnd, bytes);
  }

  /** A failure before the handshake completed; errors after it only end the connection ('close' follows, as with `ws`). */
  private failOpening(error: Error): void {
    const opening = this.opening;
    if (opening === undefined) return;
    clearTimeout(opening.timer);
    this.opening = undefined;
    this.state = ReadyState.CLOSING;
    this.parser.stop();
    this.tcp.destroy();
    opening.failed(error);
  }

  private closed(): void {
    this.failOpening(connectionReset());
    clearTimeout(this.closeTimer);
    this.parser.stop();
    this.state = ReadyState.CLOSED;
    this.emit('close', this.closeCode);
  }
}

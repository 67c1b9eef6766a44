/**
 * The limits one worker enforces on its own clients, so that a misbehaving
 * client costs only itself. The worker calls in at a few points: the HTTP
 * server's options, admission of an upgrade, a new client, each message in
 * and each send out. Every sweep runs on one timer per worker, never one per
 * socket.
 */
import type { IncomingMessage, ServerOptions } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket, type PerMessageDeflateOptions } from 'ws';
import type { WorkerLimits } from '../child-env';
import { CLOSE_CODES } from '../errors';
import type { Logger } from '../logger';
import { CloseDeadlines } from './close-deadline';
import { AddressSlots, ConnectionGate, RETRY_AFTER_SECONDS, type GateVerdict } from './connection-gate';
import { Heartbeat } from './heartbeat';
import { IdleSweep } from './idle-sweep';
import { TokenBucket } from './rate-limit';
import { receiverOf, tcpSocketOf } from './tcp-socket';

/** How long a client closed for a limit has to finish the close handshake before it is terminated. */
export const LIMIT_CLOSE_GRACE_MS = 2000;

/** What a client hears when it is closed for a limit. */
export const LIMIT_CLOSES = {
  slowConsumer: { code: CLOSE_CODES.TRY_AGAIN_LATER, reason: 'slow consumer' },
  rateLimit: { code: CLOSE_CODES.POLICY_VIOLATION, reason: 'rate limit' },
  inflateLimit: { code: CLOSE_CODES.POLICY_VIOLATION, reason: 'inflate rate limit' },
  idle: { code: CLOSE_CODES.NORMAL, reason: 'idle timeout' },
} as const;

type LimitClose = (typeof LIMIT_CLOSES)[keyof typeof LIMIT_CLOSES];

export type Refusal = Extract<GateVerdict, { ok: false }>;

/**
 * What the shared listeners below read from the socket they are called on, as
 * ws keeps its WebSocket on the TCP socket: a closure per connection for each
 * listener would live as long as the (possibly idle) connection.
 */
const TRACKED_BY = Symbol('switchyard.limits');
const SLOT_OF = Symbol('switchyard.gate');
const SLOT_ADDRESS = Symbol('switchyard.gate-address');
const HTTP_SLOT_OF = Symbol('switchyard.http-slots');
const HTTP_SLOT_ADDRESS = Symbol('switchyard.http-slot-address');
type TrackedSocket = WebSocket & { [TRACKED_BY]: ConnectionLimits };
type AdmittedSocket = Duplex & { [SLOT_OF]?: ConnectionGate; [SLOT_ADDRESS]?: string };
/** A plain HTTP connection that holds a per-address slot, and the client address it holds it for. */
type HttpSocket = Duplex & { [HTTP_SLOT_OF]?: AddressSlots; [HTTP_SLOT_ADDRESS]?: string };

function trackedSocketOnPong(this: WebSocket): void {
  (this as TrackedSocket)[TRACKED_BY].pong(this);
}

/**
 * Pongs are taken from `ws`'s receiver rather than from a `'pong'` listener
 * on each WebSocket: a fourth event name there grows the socket's listener
 * table (a dictionary) from 160 to 256 bytes, for as long as the client is
 * connected. The receiver is a stream, whose listener table has a slot per
 * event already. This reaches into `ws` internals (ws 8: `_receiver`, its one
 * `'pong'` listener, the receiver's reference to its WebSocket); where they
 * differ, a `'pong'` listener on the WebSocket is used, as before.
 */
type PongListener = (this: EventEmitter, data: Buffer) => void;
interface ReceiverPong {
  /** ws's own listener, which emits `'pong'` on the WebSocket. */
  readonly listener: PongListener;
  /** The key under which ws keeps the WebSocket on its receiver. */
  readonly socketKey: symbol;
}
/** Read from the first client's receiver; `null`: not as expected. */
let receiverPong: ReceiverPong | null | undefined;

function readReceiverPong(receiver: EventEmitter, ws: WebSocket): ReceiverPong | null {
  const listeners = receiver.listeners('pong');
  const socketKey = Object.getOwnPropertySymbols(receiver).find((key) => (receiver as unknown as Record<symbol, unknown>)[key] === ws);
  if (listeners.length !== 1 || socketKey === undefined) return null;
  return { listener: listeners[0] as PongListener, socketKey };
}

function receiverOnPong(this: EventEmitter, data: Buffer): void {
  const pong = receiverPong as ReceiverPong;
  const ws = (this as unknown as Record<symbol, TrackedSocket>)[pong.socketKey] as TrackedSocket;
  ws[TRACKED_BY].pong(ws);
  // ws's own listener still runs: a 'pong' listener someone else added on the WebSocket hears it.
  pong.listener.call(this, data);
}

/** Listens for a tracked client's pongs through its receiver when ws is as expected, else on the WebSocket. */
function listenForPongs(ws: WebSocket): void {
  const receiver = receiverOf(ws);
  if (receiverPong === undefined && receiver !== undefined) receiverPong = readReceiverPong(receiver, ws);
  if (receiverPong === null || receiverPong === undefined || receiver === undefined || receiver.listeners('pong')[0] !== receiverPong.listener) {
    ws.on('pong', trackedSocketOnPong);
    return;
  }
  receiver.removeListener('pong', receiverPong.listener);
  receiver.on('pong', receiverOnPong);
}

/** The TCP socket of an admitted upgrade closed: its slot is freed, once whatever happened in between. */
function admittedSocketOnClose(this: Duplex): void {
  const socket = this as AdmittedSocket;
  const gate = socket[SLOT_OF];
  const address = socket[SLOT_ADDRESS];
  if (gate === undefined || address === undefined) return;
  socket[SLOT_OF] = undefined;
  socket[SLOT_ADDRESS] = undefined;
  gate.release(address);
}

/** A plain HTTP connection that held a slot closed: the slot is freed, once. */
function httpSocketOnClose(this: Duplex): void {
  const socket = this as HttpSocket;
  const slots = socket[HTTP_SLOT_OF];
  if (slots === undefined) return;
  socket[HTTP_SLOT_OF] = undefined;
  slots.release(socket[HTTP_SLOT_ADDRESS] ?? '');
}

/**
 * node:http options that bound the HTTP side of a connection. `headersTimeout`
 * covers upgrade requests too (they are ordinary requests until their headers
 * are complete) and connections that never send a byte; `requestTimeout`
 * bounds a whole request, headers and body (node requires it to be at least
 * `headersTimeout`), in place of node's 300 s, which let a stalled body hold
 * its bytes for five minutes. Node checks both on one interval per server,
 * which we shorten from node's 30 s so that a 10 s timeout is not enforced
 * 30 s late.
 */
export function httpServerOptions(limits: Pick<WorkerLimits, 'handshakeTimeout' | 'maxHeaderSize' | 'requestBodyTimeout'>): ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.handshakeTimeout,
    requestTimeout: Math.max(limits.requestBodyTimeout, limits.handshakeTimeout),
    connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(Math.min(limits.handshakeTimeout, limits.requestBodyTimeout) / 4))),
  };
}

/**
 * How many inflations one worker runs at once (ws's `concurrencyLimit`, one
 * limiter per process): each holds up to `maxPayload` of output, so this
 * bounds what inflation holds in memory at a time, whatever the number of
 * compressed clients.
 */
export const INFLATE_CONCURRENCY = 10;

/**
 * ws's permessage-deflate settings, or false when compression is off. ws
 * bounds one message's inflated size by the server's `maxPayload` (checked as
 * it inflates, 1009 past it) and offers no smaller limit for compressed
 * messages; their rate is bounded per client by `maxInflatedBytesPerSecond`
 * (`ConnectionLimits.allowMessage`). Memory per compressed socket, from
 * zlib's formulas: an inflate stream of `1 << windowBits` (32 KiB at the
 * client's usual 15) plus a few KiB, created at its first compressed
 * message; a deflate stream, created at the first message the worker
 * compresses, of `(1 << (windowBits + 2)) + (1 << (memLevel + 9))`: 128 KiB
 * window + 64 KiB at memLevel 7, against 128 + 128 KiB at zlib's 8. Both stay
 * until the socket closes. The window sizes are left to what the client
 * offers: asking for a smaller one makes ws refuse (HTTP 400) a client that
 * cannot take it.
 */
export function perMessageDeflateOptions(limits: Pick<WorkerLimits, 'perMessageDeflate'>): PerMessageDeflateOptions | false {
  if (!limits.perMessageDeflate) return false;
  return {
    concurrencyLimit: INFLATE_CONCURRENCY,
    // Messages under 1 KiB are sent uncompressed: the gain is small, the CPU is not.
    threshold: 1024,
    zlibDeflateOptions: { memLevel: 7 },
  };
}

/** What a request on a plain HTTP connection past `maxHttpConnectionsPerIp` is answered. */
const TOO_MANY_HTTP: Refusal = Object.freeze({
  ok: false,
  status: 429,
  message: 'Too many HTTP connections from this address',
  headers: Object.freeze({ 'Retry-After': RETRY_AFTER_SECONDS }),
});

export class ConnectionLimits {
  private readonly gate: ConnectionGate;
  private readonly httpSlots: AddressSlots;
  private readonly heartbeat: Heartbeat<WebSocket>;
  private readonly idle: IdleSweep<WebSocket>;
  private readonly deadlines: CloseDeadlines<WebSocket>;
  private readonly buckets = new Map<WebSocket, TokenBucket>();
  /** Inflated bytes per compressed client (`maxInflatedBytesPerSecond`). */
  private readonly inflated = new Map<WebSocket, TokenBucket>();
  /** Clients being closed for going over the rate: their further messages are dropped. */
  private readonly overRate = new Set<WebSocket>();

  /**
   * `maxPayload` is the largest message a client may send: the inflated-bytes
   * bucket holds at least that much, or a compressed client could never send
   * one message of that size.
   */
  constructor(
    private readonly limits: WorkerLimits,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
    private readonly maxPayload = 0,
  ) {
    this.gate = new ConnectionGate(limits);
    this.httpSlots = new AddressSlots(limits.maxHttpConnectionsPerIp);
    this.heartbeat = new Heartbeat(limits.heartbeatInterval);
    this.idle = new IdleSweep(limits.idleTimeout, (ws) => this.closeFor(ws, LIMIT_CLOSES.idle), now);
    this.deadlines = new CloseDeadlines(LIMIT_CLOSE_GRACE_MS, now);
  }

  /** Connections admitted and not yet closed. */
  get connections(): number {
    return this.gate.size;
  }

  /**
   * Decides whether an upgrade (already checked for method, path and headers)
   * may proceed: null when admitted, else how to refuse it. An admitted
   * connection holds its slot until its TCP socket closes, whatever happens
   * in between (a failed handshake included). `address` is the client's
   * (client-address.ts): the TCP peer's, or the one a trusted proxy forwarded.
   */
  admit(request: IncomingMessage, socket: Duplex, address: string): Refusal | null {
    const admission = this.gate.admit(request.headers.origin, address);
    if (!admission.ok) return admission;
    if (socket.closed) {
      this.gate.release(address);
      return null;
    }
    const admitted = socket as AdmittedSocket;
    admitted[SLOT_OF] = this.gate;
    admitted[SLOT_ADDRESS] = address;
    socket.on('close', admittedSocketOnClose);
    return null;
  }

  /**
   * Decides whether a plain HTTP request may be served: null when its
   * connection holds (or now takes) one of its address's
   * `maxHttpConnectionsPerIp` slots, else how to refuse it. The slot is held
   * from the connection's first request until its socket closes, so idle
   * keep-alive connections count too (node closes those after 5 s). The
   * slot is `address`'s, the client address of the connection's first
   * request: behind a trusted proxy that reuses its connections for several
   * clients, the connection counts for the first.
   */
  admitHttp(request: IncomingMessage, address: string): Refusal | null {
    const socket = request.socket as HttpSocket;
    if (socket[HTTP_SLOT_OF] !== undefined) return null;
    if (!this.httpSlots.take(address)) return TOO_MANY_HTTP;
    if (socket.closed) {
      this.httpSlots.release(address);
      return null;
    }
    socket[HTTP_SLOT_OF] = this.httpSlots;
    socket[HTTP_SLOT_ADDRESS] = address;
    socket.on('close', httpSocketOnClose);
    return null;
  }

  /**
   * Starts watching an open client: heartbeat, idle time, message rate and,
   * when it compresses, inflated bytes. Its owner calls `untrack` when it
   * closes (from the one `'close'` listener the client has): from then on
   * that is also what frees its connection slot, in place of a second
   * `'close'` listener on its TCP socket (two listeners of one event cost an
   * array per connection).
   */
  track(ws: WebSocket): void {
    const at = this.now();
    const rate = this.limits.maxMessagesPerSecond;
    if (rate > 0) this.buckets.set(ws, new TokenBucket(rate, rate, at));
    const bytes = this.limits.maxInflatedBytesPerSecond;
    // ws names the extensions it negotiated; without permessage-deflate the wire bytes are the bytes delivered.
    if (bytes > 0 && ws.extensions.includes('permessage-deflate')) this.inflated.set(ws, new TokenBucket(bytes, Math.max(bytes, this.maxPayload), at));
    this.heartbeat.add(ws);
    (ws as TrackedSocket)[TRACKED_BY] = this;
    if (this.limits.heartbeatInterval > 0) listenForPongs(ws);
    this.idle.add(ws, at);
    const tcp = tcpSocketOf(ws) as AdmittedSocket | undefined;
    if (tcp?.[SLOT_OF] !== undefined) tcp.removeListener('close', admittedSocketOnClose);
  }

  /** A pong from a tracked client (called by its shared listener). */
  pong(ws: WebSocket): void {
    this.heartbeat.pong(ws);
  }

  /**
   * Counts one message of `bytes` (as delivered, after inflation) from a
   * client; false when it must be dropped because the client went over
   * `maxMessagesPerSecond` or, compressed, over `maxInflatedBytesPerSecond`
   * (it is then being closed).
   */
  allowMessage(ws: WebSocket, bytes: number): boolean {
    if (this.overRate.has(ws)) return false;
    const bucket = this.buckets.get(ws);
    const inflated = this.inflated.get(ws);
    if (bucket === undefined && inflated === undefined && !this.idle.enabled) return true;
    const now = this.now();
    this.idle.touch(ws, now);
    if (bucket !== undefined && !bucket.take(now)) return this.overLimit(ws, LIMIT_CLOSES.rateLimit);
    if (inflated !== undefined && !inflated.take(now, bytes)) return this.overLimit(ws, LIMIT_CLOSES.inflateLimit);
    return true;
  }

  /** A client went over a rate: it is closed, and what it sends meanwhile is dropped. */
  private overLimit(ws: WebSocket, why: LimitClose): false {
    this.overRate.add(ws);
    this.buckets.delete(ws);
    this.inflated.delete(ws);
    this.closeFor(ws, why);
    return false;
  }

  /**
   * Checks a client's outgoing backlog after something was queued to it,
   * against what was waiting before (`backlogBefore`, its `bufferedAmount`
   * then): a slow consumer is a client that had not read what it was sent
   * before; one message larger than the bound, to a client that keeps up, is
   * not one.
   */
  afterSend(ws: WebSocket, backlogBefore: number): void {
    if (backlogBefore > this.limits.maxBufferedBytes && ws.readyState === WebSocket.OPEN) {
      this.closeFor(ws, LIMIT_CLOSES.slowConsumer);
    }
  }

  /** Stops every timer; the worker is going away. */
  close(): void {
    this.heartbeat.close();
    this.idle.close();
    this.deadlines.close();
    this.buckets.clear();
    this.inflated.clear();
    this.overRate.clear();
  }

  private closeFor(ws: WebSocket, why: LimitClose): void {
    this.log.debug({ code: why.code, reason: why.reason, buffered: ws.bufferedAmount }, 'closing a client at a limit');
    if (ws.readyState === WebSocket.OPEN) ws.close(why.code, why.reason);
    this.deadlines.add(ws);
  }

  /** Stops watching a client that closed, and frees its connection slot (its owner calls it once, from its `'close'` listener). */
  untrack(ws: WebSocket): void {
    const tcp = tcpSocketOf(ws);
    if (tcp !== undefined) admittedSocketOnClose.call(tcp);
    this.buckets.delete(ws);
    this.inflated.delete(ws);
    this.overRate.delete(ws);
    this.heartbeat.delete(ws);
    this.idle.delete(ws);
    this.deadlines.delete(ws);
  }
}

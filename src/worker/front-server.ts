/**
 * The server a worker listens with: node:http, or with `tls` node:https on
 * the same port, and everything above it (routes, upgrades, limits) the same.
 *
 * With TLS, each connection's first bytes are looked at before TLS starts: a
 * TLS handshake begins with a record of type 22 (handshake), and anything
 * else is a plain `http://` request or `ws://` upgrade sent to the TLS port.
 * That one gets a plain HTTP 400 saying to use https:// or wss://, instead of
 * the reset a TLS server gives a peer that does not speak TLS (which a
 * browser or a `ws` client reports as "socket hang up", saying nothing of the
 * cause). Without TLS nothing of this runs.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../logger';
import type { TlsMaterial } from '../protocol';
import { rejectUpgrade } from './http-reply';
import { parseProxyHeader } from './proxy-protocol';

/** A TLS record of type handshake: what a ClientHello starts with (RFC 8446 §5.1). */
const TLS_HANDSHAKE_RECORD = 0x16;

/** What a plain request on the TLS port is told. */
export const PLAIN_ON_TLS_MESSAGE = 'This port speaks TLS: use https:// or wss://';

export type FrontServer = http.Server | https.Server;

/** What the shared listeners below find on a connection's socket (no closure per connection). */
const FRONT = Symbol('switchyard.front');
/** The PROXY header's bytes read so far, while they are incomplete. */
const PENDING = Symbol('switchyard.proxy-pending');
/** The client address a PROXY header gave for this connection. */
const PROXIED = Symbol('switchyard.proxied-address');
type FrontSocket = Socket & { [FRONT]?: Front; [PENDING]?: Buffer; [PROXIED]?: string };

/** What runs on a connection before node's own listener: the PROXY header, then the TLS check. */
class Front {
  constructor(
    /** node's own `connection` listener of the server: starts TLS, or HTTP parsing, on a socket. */
    readonly next: (socket: Socket) => void,
    readonly tls: boolean,
    readonly proxyProtocol: boolean,
    readonly handshakeTimeout: number,
    readonly log: Logger,
  ) {}
}

function frontOnConnection(this: FrontServer, socket: Socket): void {
  const front = (this as FrontServer & { [FRONT]: Front })[FRONT];
  (socket as FrontSocket)[FRONT] = front;
  // A peer that sends nothing is cut like one that sends no request headers (handshakeTimeout).
  socket.setTimeout(front.handshakeTimeout, frontSocketOnTimeout);
  socket.on('error', frontSocketOnError);
  if (front.proxyProtocol) socket.on('data', frontSocketOnProxyData);
  else socket.once('data', frontSocketOnFirstData);
}

/** Bytes of a connection that must start with a PROXY header: gathered until it is complete, bounded. */
function frontSocketOnProxyData(this: Socket, chunk: Buffer): void {
  const socket = this as FrontSocket;
  const front = socket[FRONT] as Front;
  const pending = socket[PENDING];
  const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
  const header = parseProxyHeader(data);
  switch (header.kind) {
    case 'incomplete':
      socket[PENDING] = data;
      return;
    case 'invalid':
      // Not a balancer that speaks the protocol: no answer, as HAProxy's accept-proxy does.
      front.log.debug({ address: socket.remoteAddress, reason: header.reason }, 'connection without a valid PROXY header closed');
      socket.destroy();
      return;
    case 'header': {
      socket.off('data', frontSocketOnProxyData);
      socket.pause();
      socket[PENDING] = undefined;
      if (header.address !== undefined) socket[PROXIED] = header.address;
      const rest = data.subarray(header.length);
      if (rest.length > 0) socket.unshift(rest);
      if (front.tls) {
        socket.once('data', frontSocketOnFirstData);
        socket.resume();
      } else {
        handOver(socket, front);
        socket.resume();
      }
      return;
    }
    default: {
      const unreachable: never = header;
      throw new Error(`unhandled PROXY header ${JSON.stringify(unreachable)}`);
    }
  }
}

/** With TLS: the first bytes tell a TLS handshake from a plain request sent to the TLS port. */
function frontSocketOnFirstData(this: Socket, chunk: Buffer): void {
  const socket = this as FrontSocket;
  const front = socket[FRONT] as Front;
  socket.pause();
  if (chunk[0] === TLS_HANDSHAKE_RECORD) {
    // node's TLS socket reads what is buffered on the socket before it reads from the wire.
    socket.unshift(chunk);
    handOver(socket, front);
    return;
  }
  front.log.debug({ address: socket.remoteAddress }, 'plain HTTP on the TLS port: answered 400');
  rejectUpgrade(socket, 400, PLAIN_ON_TLS_MESSAGE);
}

/** The front is done: node's TLS or HTTP takes the socket, with its own timeouts. */
function handOver(socket: FrontSocket, front: Front): void {
  socket[FRONT] = undefined;
  socket.setTimeout(0);
  socket.off('error', frontSocketOnError);
  front.next(socket);
}

function frontSocketOnTimeout(this: Socket): void {
  this.destroy();
}

function frontSocketOnError(this: Socket, error: Error): void {
  (this as FrontSocket)[FRONT]?.log.debug({ err: error }, 'socket error before HTTP');
}

function tlsOnClientError(this: https.Server, error: Error, socket: Socket): void {
  (this as https.Server & { [FRONT]: Front })[FRONT].log.debug({ err: error, address: socket.remoteAddress }, 'TLS handshake failed');
  socket.destroy();
}

/**
 * The client address a PROXY header gave for the connection of `socket` (the
 * TCP socket, or the TLS socket over it), if any. node keeps the TCP socket
 * under a TLS socket as `_parent`.
 */
export function proxiedAddressOf(socket: Socket): string | undefined {
  const tcp = (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
  return (tcp as FrontSocket)[PROXIED];
}

export interface FrontOptions {
  /** Serve TLS (the worker gives it its certificate with `setTlsMaterial` before it listens). */
  readonly tls: boolean;
  /** Every connection starts with a PROXY protocol header (v1 or v2). */
  readonly proxyProtocol: boolean;
  /** How long a connection may take to get through the front (and, with TLS, its handshake). */
  readonly handshakeTimeout: number;
}

/**
 * A plain HTTP server, or an HTTPS one with no certificate yet; with neither
 * TLS nor the PROXY protocol, node:http's server as it is.
 */
export function createFrontServer(options: http.ServerOptions, front: FrontOptions, log: Logger, onRequest: http.RequestListener): FrontServer {
  const server: FrontServer = front.tls ? https.createServer({ ...options, handshakeTimeout: front.handshakeTimeout }, onRequest) : http.createServer(options, onRequest);
  if (!front.tls && !front.proxyProtocol) return server;
  const [next] = server.listeners('connection') as Array<(socket: Socket) => void>;
  if (next === undefined) throw new Error('node:http registered no connection listener');
  server.removeAllListeners('connection');
  (server as FrontServer & { [FRONT]: Front })[FRONT] = new Front(next.bind(server), front.tls, front.proxyProtocol, front.handshakeTimeout, log);
  server.on('connection', frontOnConnection);
  if (server instanceof https.Server) server.on('tlsClientError', tlsOnClientError);
  return server;
}

/** Gives a TLS front server the certificate it serves: new handshakes get it, established connections keep theirs. */
export function setTlsMaterial(server: FrontServer, material: TlsMaterial): void {
  if (!(server instanceof https.Server)) throw new Error('setTlsMaterial on a server without TLS');
  server.setSecureContext(material);
}

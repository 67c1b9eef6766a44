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

/** A TLS record of type handshake: what a ClientHello starts with (RFC 8446 §5.1). */
const TLS_HANDSHAKE_RECORD = 0x16;

/** What a plain request on the TLS port is told. */
export const PLAIN_ON_TLS_MESSAGE = 'This port speaks TLS: use https:// or wss://';

export type FrontServer = http.Server | https.Server;

/** What the shared listeners below find on a connection's socket (no closure per connection). */
const FRONT = Symbol('switchyard.front');
type SniffedSocket = Socket & { [FRONT]?: TlsFront };

/** The TLS side of a worker's front server: the context it serves and the first-byte check. */
class TlsFront {
  constructor(
    /** node's own `connection` listener of the TLS server, which starts TLS on a socket. */
    readonly startTls: (socket: Socket) => void,
    readonly handshakeTimeout: number,
    readonly log: Logger,
  ) {}
}

function frontOnConnection(this: https.Server, socket: Socket): void {
  const front = (this as https.Server & { [FRONT]: TlsFront })[FRONT];
  (socket as SniffedSocket)[FRONT] = front;
  // A peer that sends nothing is cut like one that sends no request headers (handshakeTimeout).
  socket.setTimeout(front.handshakeTimeout, sniffedSocketOnTimeout);
  socket.once('data', sniffedSocketOnFirstData);
  socket.on('error', sniffedSocketOnError);
}

function sniffedSocketOnFirstData(this: Socket, chunk: Buffer): void {
  const socket = this as SniffedSocket;
  const front = socket[FRONT] as TlsFront;
  socket[FRONT] = undefined;
  socket.pause();
  socket.setTimeout(0);
  socket.off('error', sniffedSocketOnError);
  if (chunk[0] === TLS_HANDSHAKE_RECORD) {
    // node's TLS socket reads what is buffered on the socket before it reads from the wire.
    socket.unshift(chunk);
    front.startTls(socket);
    return;
  }
  front.log.debug({ address: socket.remoteAddress }, 'plain HTTP on the TLS port: answered 400');
  rejectUpgrade(socket, 400, PLAIN_ON_TLS_MESSAGE);
}

function sniffedSocketOnTimeout(this: Socket): void {
  this.destroy();
}

function sniffedSocketOnError(this: Socket, error: Error): void {
  (this as SniffedSocket)[FRONT]?.log.debug({ err: error }, 'socket error before TLS');
}

function tlsOnClientError(this: https.Server, error: Error, socket: Socket): void {
  (this as https.Server & { [FRONT]: TlsFront })[FRONT].log.debug({ err: error, address: socket.remoteAddress }, 'TLS handshake failed');
  socket.destroy();
}

/**
 * A plain HTTP server, or (with `tls`) an HTTPS one with no certificate yet:
 * the worker gives it one (`setTlsMaterial`) before it listens.
 */
export function createFrontServer(
  options: http.ServerOptions,
  tls: { readonly handshakeTimeout: number } | false,
  log: Logger,
  onRequest: http.RequestListener,
): FrontServer {
  if (tls === false) return http.createServer(options, onRequest);
  const server = https.createServer({ ...options, handshakeTimeout: tls.handshakeTimeout }, onRequest);
  const [startTls] = server.listeners('connection') as Array<(socket: Socket) => void>;
  if (startTls === undefined) throw new Error('node:https registered no connection listener');
  server.removeAllListeners('connection');
  (server as https.Server & { [FRONT]: TlsFront })[FRONT] = new TlsFront(startTls.bind(server), tls.handshakeTimeout, log);
  server.on('connection', frontOnConnection);
  server.on('tlsClientError', tlsOnClientError);
  return server;
}

/** Gives a TLS front server the certificate it serves: new handshakes get it, established connections keep theirs. */
export function setTlsMaterial(server: FrontServer, material: TlsMaterial): void {
  if (!(server instanceof https.Server)) throw new Error('setTlsMaterial on a server without TLS');
  server.setSecureContext(material);
}

/**
 * Intake: one client from its upgrade to its link, and each of its messages
 * the same way. An upgrade is checked (`onUpgrade`: state, path and headers,
 * limits), completed by `ws`, and becomes a client of a service
 * (`onConnection`: an id, a `connect` on the service's link, the shared socket
 * listeners); each message then goes to the link (`onMessage`), and so does
 * the close (`onClosed`). With an authenticator configured, the upgrade
 * waits for it between the checks and the handshake (`authenticated`). The
 * way out, link to sockets, is client-delivery.ts.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { ClientIdAllocator } from '../client-id';
import { CLOSE_CODES } from '../errors';
import type { Logger } from '../logger';
import { DELIVERY_SAMPLE_EVERY } from '../metrics/names';
import { sharedIfEmpty, type ClientInfo } from '../protocol';
import { RAW_TEXT_MIN_LENGTH } from '../ipc/link-codec';
import type { ClientEntry, ClientRegistry } from './client-registry';
import { authRequestOf, type AuthOutcome, type Authenticator } from './authenticate';
import { rejectUpgrade, rejectUpgradeCode } from './http-reply';
import type { HeldCloses } from './held-closes';
import type { ConnectionLimits } from './limits';
import type { RoutingTally } from './routing-tally';
import type { ServiceLink } from './service-link';
import { takesSharedFrames } from './shared-frame';
import { tcpSocketOf } from './tcp-socket';
import { checkUpgrade } from './upgrade-check';
import { ownerOf } from '../rendezvous';
import { DEFAULT_SHARD_BY, connectionKey, shardKeyOf, type ShardBy, type ShardSource } from '../shard-key';
import type { WorkerMetrics } from './worker-metrics';

/** What the intake works with; the worker server owns all of it. */
export interface IntakeDeps {
  readonly services: ReadonlySet<string>;
  /** Request headers passed on to the service with each connect. */
  readonly forwardHeaders: readonly string[];
  readonly ids: ClientIdAllocator;
  /** Each service's links, one per instance. */
  readonly links: ReadonlyMap<string, readonly ServiceLink[]>;
  /** The shard key of a service of several instances; undefined for one of one instance. */
  shardBy(service: string): ShardBy | undefined;
  /** The service's shard key setting, whatever its instance count. */
  shardByOf(service: string): ShardBy;
  /** Whether `service`'s clients' shard keys are kept (sharded by a query parameter or header): a reload may re-place them. */
  shardKeyKept(service: string): boolean;
  /** A client of such a service was placed by `key` (undefined: it had none, its id decides). */
  placed(service: string, id: string, key: string | undefined): void;
  /** A client is gone: its kept key goes. */
  forgetPlacement(id: string): void;
  /** A topic of a service of several instances lost its last subscriber here (its client closed). */
  interestChanged(service: string, topic: string, on: false): void;
  readonly clients: ClientRegistry;
  readonly metrics: WorkerMetrics;
  readonly limits: ConnectionLimits;
  /** Closes that wait for the replies to what the client sent before them. */
  readonly closes: Pick<HeldCloses, 'watch' | 'forget'>;
  readonly wss: WebSocketServer;
  readonly routing: RoutingTally;
  readonly log: Logger;
  /** The client's address: the TCP peer's, or the one a trusted proxy forwarded (client-address.ts). */
  readonly addressOf: (request: http.IncomingMessage) => string;
  /** Runs before each handshake when `authenticate` or `jwt` is set. */
  readonly authenticator?: Authenticator;
  /** Answers a plain HTTP request (an upgrade to something other than WebSocket is one). */
  serveHttp(request: http.IncomingMessage, response: http.ServerResponse): void;
  /** Something the worker's status report counts has changed. */
  /** The status report is due; `flow`: only the message flow moved (held counts), which may wait longer. */
  statusChanged(flow?: boolean): void;
}

/** `waiting`: not listening yet; `open`: taking clients; `stopping`: the worker stops (or reloads). */
type IntakeState = 'waiting' | 'open' | 'stopping';

/**
 * Where a socket keeps what its shared listeners need, as ws keeps its
 * WebSocket on the TCP socket (`socket[kWebSocket]`): the listeners are
 * module-level functions called with the socket as `this`, so a connection
 * costs no closure (a closure per listener would cost more memory than the
 * entry itself).
 */
const ENTRY = Symbol('switchyard.entry');
const INTAKE = Symbol('switchyard.intake');
type ClientSocket = WebSocket & { [ENTRY]: ClientEntry; [INTAKE]: ClientIntake };
type UpgradingSocket = Duplex & { [INTAKE]?: ClientIntake };

/** An upgrade that passed its checks, while its authenticator runs. */
interface PendingUpgrade {
  readonly request: http.IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  /** The client's address (client-address.ts), found once before the limits. */
  readonly address: string;
  readonly service: string;
  readonly path: string;
  readonly query: Record<string, string>;
}

/** The way in for one worker's WebSocket clients: upgrade → connection → messages and close → the service's link. */
export class ClientIntake {
  private state: IntakeState = 'waiting';
  private stopCode: number = CLOSE_CODES.GOING_AWAY;
  private stopReason = '';
  private messagesSinceSample = 0;
  /** For the shared listeners' debug lines. */
  readonly log: Logger;
  /** Whether connection lines are written (`logLevel` debug or below): checked once, the level does not change. */
  private readonly connectionLines: boolean;

  constructor(private readonly deps: IntakeDeps) {
    this.log = deps.log;
    this.connectionLines = deps.log.isLevelEnabled('debug');
  }

  /** The worker listens: upgrades are taken from now on. */
  open(): void {
    if (this.state === 'waiting') this.state = 'open';
  }

  /**
   * The worker stops: no new client, and one that completes its handshake
   * now is closed at once with `code`. During a reload (1012) upgrades still
   * succeed, then close, so that no attempt is refused.
   */
  stop(code: number, reason: string): void {
    this.state = 'stopping';
    this.stopCode = code;
    this.stopReason = reason;
  }

  /** node:http's `upgrade` event. */
  onUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    (socket as UpgradingSocket)[INTAKE] = this;
    socket.on('error', upgradingSocketOnError);
    // An upgrade to something else (curl --http2 asks for h2c) is a plain
    // request that may be answered over HTTP/1.1: serve GET/HEAD as usual.
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        // Its body is beyond node:http's parser once it is an upgrade: ask for a plain retry.
        return rejectUpgrade(socket, 501, 'Only WebSocket upgrades are supported; send this request without an Upgrade header');
      }
      const response = new http.ServerResponse(request);
      response.shouldKeepAlive = false;
      response.assignSocket(socket as Socket);
      // A rare path (not a WebSocket client), and the response is short-lived: a closure costs nothing that stays.
      response.on('finish', () => (socket as Socket).destroySoon());
      this.deps.serveHttp(request, response);
      return;
    }
    // During a reload an upgrade that reached this draining worker still
    // succeeds (then gets 1012 and reconnects elsewhere): no attempt is refused.
    const reloading = this.state === 'stopping' && this.stopCode === CLOSE_CODES.SERVICE_RESTART;
    if (this.state !== 'open' && !reloading) {
      this.deps.metrics.upgradeRejected(503);
      return rejectUpgrade(socket, 503, 'Server is shutting down', { 'Retry-After': '1' });
    }
    const verdict = checkUpgrade(request, this.deps.services);
    if (!verdict.ok) {
      this.deps.metrics.upgradeRejected(verdict.status);
      return rejectUpgrade(socket, verdict.status, verdict.message, verdict.headers);
    }
    const address = this.deps.addressOf(request);
    const refusal = this.deps.limits.admit(request, socket, address);
    if (refusal !== null) {
      this.deps.metrics.upgradeRejected(refusal.status);
      return rejectUpgrade(socket, refusal.status, refusal.message, refusal.headers);
    }
    const { authenticator } = this.deps;
    if (authenticator === undefined) {
      // One closure per handshake, not per connection: it is gone once ws calls it.
      this.deps.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request, address, verdict.service, verdict.path, verdict.query, undefined));
      return;
    }
    const pending: PendingUpgrade = { request, socket, head, address, service: verdict.service, path: verdict.path, query: verdict.query };
    authenticator.run(authRequestOf(request, verdict.path, verdict.query, address), (outcome) => this.authenticated(pending, outcome));
  }

  /**
   * The authenticator answered: the handshake completes with the identity,
   * or the refusal is the HTTP answer. The socket may have gone meanwhile
   * (its slot in the limits is freed by its close), and the worker may have
   * begun to stop.
   */
  private authenticated(pending: PendingUpgrade, outcome: AuthOutcome): void {
    const { request, socket, head } = pending;
    if (socket.destroyed) return;
    if (!outcome.ok) {
      this.deps.metrics.upgradeRejected(outcome.status);
      return rejectUpgradeCode(socket, outcome.status, outcome.code, outcome.message, outcome.headers);
    }
    const reloading = this.state === 'stopping' && this.stopCode === CLOSE_CODES.SERVICE_RESTART;
    if (this.state !== 'open' && !reloading) {
      this.deps.metrics.upgradeRejected(503);
      return rejectUpgrade(socket, 503, 'Server is shutting down', { 'Retry-After': '1' });
    }
    this.deps.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request, pending.address, pending.service, pending.path, pending.query, outcome));
  }

  /** The handshake is complete: the socket becomes a client of `service`, announced on its link. */
  private onConnection(
    ws: WebSocket,
    request: http.IncomingMessage,
    address: string,
    service: string,
    path: string,
    query: Record<string, string>,
    identity: Extract<AuthOutcome, { ok: true }> | undefined,
  ): void {
    // ws has its own 'error' listener on the socket now: a second one would cost an array per connection.
    tcpSocketOf(ws)?.removeListener('error', upgradingSocketOnError);
    if (this.state !== 'open') {
      ws.close(this.stopCode, this.stopReason);
      return;
    }
    const id = this.deps.ids.next();
    const headers: Record<string, string> = {};
    for (const name of this.deps.forwardHeaders) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const remoteAddress = address;
    // Without an authenticator the client has no identity fields at all: nothing more to carry or keep.
    const client: ClientInfo =
      identity === undefined
        ? { id, service, path, query: sharedIfEmpty(query), headers: sharedIfEmpty(headers), remoteAddress }
        : identity.claims === undefined
          ? { id, service, path, query: sharedIfEmpty(query), headers: sharedIfEmpty(headers), remoteAddress, user: identity.user }
          : { id, service, path, query: sharedIfEmpty(query), headers: sharedIfEmpty(headers), remoteAddress, user: identity.user, claims: identity.claims };
    const shardSource = { query, headers: request.headers, user: identity?.user };
    if (this.deps.shardKeyKept(service)) this.deps.placed(service, id, shardKeyOf(this.deps.shardByOf(service), shardSource));
    const link = this.ownerOf(service, shardSource, id);
    const admission = link.connect(client);
    if (admission !== 'ok') {
      if (admission === 'full') {
        this.deps.routing.add('serviceQueueFull');
        this.deps.statusChanged();
        ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'service busy, try again later');
      } else {
        ws.close(CLOSE_CODES.INTERNAL_ERROR, 'service failed');
      }
      return;
    }
    const entry: ClientEntry = { id, service, socket: ws, counters: this.deps.metrics.service(service), link, sharedFrames: takesSharedFrames(ws), lastSeq: link.lastSeq };
    this.deps.clients.add(entry);
    link.clientCount++;
    entry.counters.open++;
    entry.counters.opened++;
    this.deps.limits.track(ws);
    this.deps.closes.watch(entry);
    const socket = ws as ClientSocket;
    socket[ENTRY] = entry;
    socket[INTAKE] = this;
    ws.on('message', clientSocketOnMessage);
    ws.on('close', clientSocketOnClose);
    ws.on('error', clientSocketOnError);
    this.deps.statusChanged();
    if (this.connectionLines) this.log.debug({ client: id, service, path, address: remoteAddress }, 'client connected');
  }

  /**
   * The link of the instance that owns a new client, for its whole connection:
   * the only one for a service of one instance (no hashing, nothing paid),
   * else by rendezvous hashing of its shard key (its id when it has none).
   */
  private ownerOf(service: string, source: ShardSource, id: string): ServiceLink {
    const links = this.deps.links.get(service) as readonly ServiceLink[];
    if (links.length === 1) return links[0] as ServiceLink;
    const shardBy = this.deps.shardBy(service) ?? DEFAULT_SHARD_BY;
    return links[ownerOf(connectionKey(shardBy, source, id), links.length)] as ServiceLink;
  }

  /** One message from a client, to its service's link (or the client is closed when the link cannot take it). */
  onMessage(entry: ClientEntry, data: Buffer, isBinary: boolean): void {
    if (!this.deps.limits.allowMessage(entry.socket, data.length)) return;
    entry.counters.messagesIn++;
    entry.counters.bytesIn += data.length;
    let ts: number | undefined;
    if (++this.messagesSinceSample >= DELIVERY_SAMPLE_EVERY) {
      this.messagesSinceSample = 0;
      ts = Date.now();
    }
    const admission = entry.link.message(entry.id, linkData(data, isBinary), isBinary, ts);
    if (admission === 'ok') {
      entry.lastSeq = entry.link.lastSeq;
      this.deps.statusChanged(true);
      return;
    }
    if (admission === 'failed') {
      entry.socket.close(CLOSE_CODES.INTERNAL_ERROR, 'service failed');
      return;
    }
    this.deps.routing.add('serviceQueueFull');
    this.deps.statusChanged();
    this.deps.log.warn({ client: entry.id, service: entry.service }, 'too many unacknowledged messages for the service; closing client with 1013');
    entry.socket.close(CLOSE_CODES.TRY_AGAIN_LATER, 'service busy, try again later');
  }

  /** The client's socket closed: it leaves the registry, and its service hears of it over the link. */
  onClosed(entry: ClientEntry, code: number, reason: Buffer): void {
    this.deps.limits.untrack(entry.socket);
    this.deps.clients.remove(entry, this.deps.shardBy(entry.service) === undefined ? undefined : (topic) => this.deps.interestChanged(entry.service, topic, false));
    entry.link.clientCount--;
    this.deps.forgetPlacement(entry.id);
    this.deps.closes.forget(entry);
    entry.counters.open--;
    this.deps.metrics.connectionClosed(entry.service, code);
    entry.link.closed(entry.id, code, reason.toString());
    this.deps.statusChanged();
    if (this.connectionLines) this.log.debug({ client: entry.id, service: entry.service, code }, 'client disconnected');
  }
}

// The shared listeners, called by the socket with itself as `this`.

function upgradingSocketOnError(this: UpgradingSocket, error: Error): void {
  this[INTAKE]?.log.debug({ err: error }, 'socket error during upgrade');
}

function clientSocketOnMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const socket = this as ClientSocket;
  // Binary messages are Buffers: the server leaves ws's `binaryType` at its default, 'nodebuffer'.
  socket[INTAKE].onMessage(socket[ENTRY], data as Buffer, isBinary);
}

function clientSocketOnClose(this: WebSocket, code: number, reason: Buffer): void {
  const socket = this as ClientSocket;
  socket[INTAKE].onClosed(socket[ENTRY], code, reason);
}

function clientSocketOnError(this: WebSocket, error: Error): void {
  const socket = this as ClientSocket;
  socket[INTAKE].log.debug({ err: error, client: socket[ENTRY].id }, 'client connection error');
}

/**
 * A client message as it goes on the link: binary as its bytes, big text as
 * its UTF-8 bytes (both travel raw, `link-codec.ts`: no base64, no decoding
 * here and no JSON escaping), small text as its string. A small Buffer is
 * copied: `ws` hands a view of the socket's read, and the link keeps the
 * message until the service acknowledges it.
 */
function linkData(data: Buffer, isBinary: boolean): string | Buffer {
  if (data.length >= RAW_TEXT_MIN_LENGTH) return data;
  return isBinary ? Buffer.from(data) : data.toString();
}

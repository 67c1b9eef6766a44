/**
 * The client-facing side of one worker process: an HTTP server whose upgrades
 * become WebSocket clients of a service, and the traffic between those
 * sockets and the services — directly, over one link per service. The master
 * only announces where each service instance listens, and gets a status
 * report now and then.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { WorkerConfig } from '../child-env';
import { ClientIdAllocator, workerOfClientId } from '../client-id';
import { CLOSE_CODES, isSendableCloseCode, isSendableCloseReason } from '../errors';
import { BatchQueue, type IpcEndpoint } from '../ipc/batch-queue';
import type { Logger } from '../logger';
import { DELIVERY_SAMPLE_EVERY } from '../metrics/names';
import {
  approximateSize,
  decodePayload,
  isMasterToWorker,
  readBatch,
  sharedIfEmpty,
  type ClientInfo,
  type MasterToWorker,
  type Payload,
  type RoutingCounters,
  type ServiceToWorker,
  type WorkerToMaster,
} from '../protocol';
import { ClientRegistry, type ClientEntry } from './client-registry';
import { SocketCorker } from './socket-corker';
import { rejectUpgrade, replyError } from './http-reply';
import { HttpRoutes } from './http-routes';
import { ServiceLink } from './service-link';
import { frameOnce, takesSharedFrames, writeSharedFrame } from './shared-frame';
import { ConnectionLimits, httpServerOptions } from './limits';
import { StaticFiles } from './static-files';
import { checkUpgrade } from './upgrade-check';
import { WorkerMetrics } from './worker-metrics';

type WorkerState = 'starting' | 'listening' | 'stopping' | 'stopped';

function closedOf(socket: WebSocket): Promise<void> {
  return socket.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

/** How long stopping clients get to answer the close handshake before they are cut. */
const CLOSE_HANDSHAKE_GRACE_MS = 2000;

/** How soon after a change the master hears the worker's status (client counts, held messages, drops). */
const STATUS_DELAY_MS = 20;

/** The counters a worker keeps itself; `linkQueueFull` is read from its links. */
type Routing = { -readonly [K in Exclude<keyof RoutingCounters, 'linkQueueFull'>]: number };

/** Where a client socket keeps its entry, for the shared listeners. */
const ENTRY = Symbol('switchyard.entry');
type EntrySocket = WebSocket & { [ENTRY]: ClientEntry };

export class WorkerServer {
  readonly clients = new ClientRegistry();
  private state: WorkerState = 'starting';
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly ids: ClientIdAllocator;
  private readonly services: ReadonlySet<string>;
  private readonly links = new Map<string, ServiceLink>();
  private readonly routing: Routing = { foreignAddressDrops: 0, goneClientDrops: 0, serviceQueueFull: 0, requestsRefused: 0 };
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly reportStatus = (): void => {
    this.statusTimer = undefined;
    const clients: Record<string, number> = {};
    const held: Record<string, number> = {};
    for (const [name, link] of this.links) {
      clients[name] = this.clients.ofService(name).size;
      held[name] = link.heldCount;
    }
    let linkQueueFull = 0;
    for (const link of this.links.values()) linkQueueFull += link.queueDropped;
    this.send({ type: 'status', clients, held, routing: { ...this.routing, linkQueueFull } }, true);
  };
  private readonly outbox: BatchQueue<WorkerToMaster>;
  private readonly metrics: WorkerMetrics;
  private readonly routes: HttpRoutes;
  private readonly limits: ConnectionLimits;
  private messagesSinceSample = 0;
  private readonly corker = new SocketCorker();
  /**
   * One listener for every upgrading socket: a closure made in onUpgrade would
   * keep its whole scope (the request, its headers) alive as long as the
   * socket lives — measured at ~0.9 KiB per idle connection.
   */
  private readonly onUpgradeSocketError = (error: Error): void => this.log.debug({ err: error }, 'socket error during upgrade');
  /**
   * The listeners of every client socket, shared: `ws` calls them with the
   * socket as `this`, whose entry is one property away. Three closures per
   * connection would cost more memory than the entry itself.
   */
  private readonly socketListeners = ((server: WorkerServer) => ({
    message(this: WebSocket, data: RawData, isBinary: boolean): void {
      server.onMessage((this as EntrySocket)[ENTRY], data as Buffer, isBinary);
    },
    close(this: WebSocket, code: number, reason: Buffer): void {
      server.onClosed((this as EntrySocket)[ENTRY], code, reason);
    },
    error(this: WebSocket, error: Error): void {
      server.log.debug({ err: error, client: (this as EntrySocket)[ENTRY].id }, 'client connection error');
    },
  }))(this);
  private stopCode: number = CLOSE_CODES.GOING_AWAY;
  private stopReason = '';

  constructor(
    private readonly config: WorkerConfig,
    private readonly workerId: number,
    endpoint: IpcEndpoint,
    private readonly log: Logger,
    private readonly onStopped: () => void = () => {},
  ) {
    this.ids = new ClientIdAllocator(workerId);
    this.services = new Set(config.services);
    this.outbox = new BatchQueue(endpoint, {
      maxMessages: config.ipc.maxMessages,
      maxBytes: config.ipc.maxBytes,
      onError: (error) => log.debug({ err: error }, 'IPC write to master failed'),
    });
    this.metrics = new WorkerMetrics(workerId, config.services, this.outbox);
    for (const service of config.services) {
      this.links.set(
        service,
        new ServiceLink(service, workerId, config.ipc, log, {
          onBatch: (link, batch) => this.corker.batch(() => {
            for (const message of batch) this.fromService(link.service, message);
            this.statusChanged();
          }),
          onFreshInstance: (link) => this.clients.dropTopicsOf(link.service),
          onInstanceGone: (link) => this.routes.serviceGone(link.service),
        }),
      );
    }
    const staticFiles = config.staticDir === false ? undefined : new StaticFiles(config.staticDir, log);
    this.routes = new HttpRoutes({
      config,
      workerId,
      log,
      metrics: this.metrics,
      query: (message) => this.send(message),
      request: (service, fields) => {
        const link = this.links.get(service);
        if (link === undefined || !link.available) {
          this.routing.requestsRefused++;
          this.statusChanged();
          return 'unavailable';
        }
        return link.request(fields) ? 'sent' : 'busy';
      },
      fallback: (request, response) => (staticFiles === undefined ? replyError(response, 404, 'Not found') : staticFiles.serve(request, response)),
    });
    this.limits = new ConnectionLimits(config.limits, log);
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: config.limits.perMessageDeflate,
      maxPayload: config.maxPayload,
    });
    this.http = http.createServer(httpServerOptions(config.limits), (request, response) => this.routes.handle(request, response));
    // The limits' timers live as long as the server: stopping it closes them.
    this.http.once('close', () => this.limits.close());
    this.http.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    this.http.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(error, socket));
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.http.once('error', onError);
      this.http.listen({ port: this.config.port, host: this.config.host }, () => {
        this.http.off('error', onError);
        this.http.on('error', (error) => this.log.error({ err: error }, 'HTTP server error'));
        this.state = 'listening';
        const address = this.http.address();
        const port = typeof address === 'object' && address !== null ? address.port : this.config.port;
        this.send({ type: 'ready', port });
        resolve(port);
      });
    });
  }

  /** Handles one IPC batch from the master; returns how many of its messages were malformed. */
  handleBatch(batch: unknown): number {
    let rejected = 0;
    this.corker.batch(() => {
      rejected = readBatch(batch, isMasterToWorker, this.handleOne);
    });
    return rejected;
  }

  private readonly handleOne = (message: MasterToWorker): void => this.handle(message);

  /** Handles one message from the master. */
  handle(message: MasterToWorker): void {
    switch (message.type) {
      case 'serviceUp':
        this.links.get(message.service)?.instanceUp(message.endpoint);
        return;
      case 'serviceFailed': {
        const link = this.links.get(message.service);
        if (link === undefined) return;
        link.instanceFailed();
        for (const entry of [...this.clients.ofService(message.service).values()]) entry.socket.close(CLOSE_CODES.INTERNAL_ERROR, 'service failed');
        this.statusChanged();
        return;
      }
      case 'queryResult':
        this.routes.settleQuery(message);
        return;
      case 'metricsRequest':
        void this.metrics.snapshot().then((metrics) => this.send({ type: 'metrics', qid: message.qid, metrics }, true));
        return;
      case 'stop':
        void this.stop(message.code, message.reason).then(this.onStopped);
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Carries out one message a service sent over its link. */
  private fromService(service: string, message: ServiceToWorker): void {
    this.metrics.ipcReceived[message.type] = (this.metrics.ipcReceived[message.type] ?? 0) + 1;
    switch (message.type) {
      case 'send': {
        const entry = this.ownClient(service, message.id);
        if (entry !== undefined) this.deliver(entry, decodePayload(message), message.binary === true);
        return;
      }
      case 'broadcast':
        this.fanOut(this.clients.ofService(service).values(), message, message.except);
        return;
      case 'publish':
        this.fanOut(this.clients.subscribers(service, message.topic), message, message.except);
        return;
      case 'subscribe':
        if (this.ownClient(service, message.id) !== undefined) this.clients.subscribe(service, message.topic, message.id);
        return;
      case 'unsubscribe':
        if (this.ownClient(service, message.id) !== undefined) this.clients.unsubscribe(service, message.topic, message.id);
        return;
      case 'close': {
        const entry = this.ownClient(service, message.id);
        if (entry === undefined) return;
        const code = isSendableCloseCode(message.code) ? message.code : CLOSE_CODES.NORMAL;
        entry.socket.close(code, isSendableCloseReason(message.reason) ? message.reason : '');
        return;
      }
      case 'response':
        if (!this.routes.settleResponse(service, message) && workerOfClientId(message.rid) !== this.workerId) this.routing.foreignAddressDrops++;
        return;
      case 'ack':
      case 'retired':
        // Taken by the link itself.
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * The client `id` if it is this service's and still here. A service may
   * address only its own clients: anything else is dropped and counted.
   */
  private ownClient(service: string, id: string): ClientEntry | undefined {
    const entry = this.clients.get(id);
    if (entry !== undefined && entry.service === service) return entry;
    if (entry === undefined && workerOfClientId(id) === this.workerId) {
      this.routing.goneClientDrops++;
      this.log.debug({ service, client: id }, 'client already gone; dropped');
    } else {
      this.routing.foreignAddressDrops++;
      this.log.warn({ service, client: id }, 'service addressed a client that is not its own; dropped');
    }
    return undefined;
  }

  /** Schedules a status report to the master; many changes make one report. */
  private statusChanged(): void {
    if (this.statusTimer === undefined && this.state !== 'stopped') this.statusTimer = setTimeout(this.reportStatus, STATUS_DELAY_MS);
  }

  /**
   * Stops accepting, closes every client with `code`, reports their closes to
   * the master and resolves once all of that is written.
   */
  async stop(code: number = CLOSE_CODES.GOING_AWAY, reason = 'server shutting down'): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    this.stopCode = code;
    this.stopReason = reason;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const sockets = [...this.clients.all()].map((entry) => entry.socket);
    const allClosed = Promise.all(sockets.map((socket) => closedOf(socket)));
    for (const socket of sockets) socket.close(code, reason);
    // One timer for all: clients that do not finish the close handshake in time are cut.
    const grace = setTimeout(() => {
      for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    }, CLOSE_HANDSHAKE_GRACE_MS);
    await allClosed;
    clearTimeout(grace);
    this.routes.close();
    this.http.closeAllConnections();
    await closed;
    // Every client's close reaches its service before the link ends.
    await Promise.all([...this.links.values()].map((link) => link.drained()));
    for (const link of this.links.values()) link.end();
    clearTimeout(this.statusTimer);
    this.reportStatus();
    await this.outbox.drained();
    this.metrics.close();
    this.state = 'stopped';
  }

  /** Sends `data` to one client: as `frame` (the same bytes framed once for many) when given and the socket takes it, else through `ws`. */
  private deliver(entry: ClientEntry, data: string | Buffer, binary: boolean, frame?: Buffer): void {
    const { socket } = entry;
    if (socket.readyState !== WebSocket.OPEN) return;
    this.corker.touch(socket);
    if (frame !== undefined && entry.sharedFrames) writeSharedFrame(socket, frame);
    else socket.send(data, { binary });
    this.limits.afterSend(socket);
    entry.counters.messagesOut++;
    // UTF-8 bytes, as a fan-out (which sends a Buffer) and bytes received count: `length` of a string counts UTF-16 units.
    // byteLength measures without encoding; ws encodes the string once when it frames it.
    entry.counters.bytesOut += typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
  }

  /**
   * Sends one payload to many sockets: decoded and framed once, the same
   * frame written to every socket that takes shared frames (see
   * shared-frame.ts); `ws` frames it for the others.
   */
  private fanOut(entries: Iterable<ClientEntry>, payload: Payload, except: readonly string[] | undefined): void {
    const binary = payload.binary === true;
    const data = binary ? (decodePayload(payload) as Buffer) : Buffer.from(payload.data, 'utf8');
    const frame = frameOnce(data, binary);
    const skip = except === undefined || except.length === 0 ? undefined : new Set(except);
    for (const entry of entries) {
      if (skip === undefined || !skip.has(entry.id)) this.deliver(entry, data, binary, frame);
    }
  }

  private send(message: WorkerToMaster, mustKeep = false): boolean {
    return this.outbox.push(message, approximateSize(message), mustKeep);
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    this.log.debug({ err: error }, 'bad HTTP request');
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A parse error after a pipelined request that is being answered: answering
    // now would pose as that request's response; just cut the connection.
    if ((socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    rejectUpgrade(socket, status, status === 431 ? 'Request header fields too large' : 'Bad request');
  }

  private onUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', this.onUpgradeSocketError);
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
      response.on('finish', () => (socket as Socket).destroySoon());
      this.routes.handle(request, response);
      return;
    }
    // During a reload an upgrade that reached this draining worker still
    // succeeds (then gets 1012 and reconnects elsewhere): no attempt is refused.
    const reloading = this.state === 'stopping' && this.stopCode === CLOSE_CODES.SERVICE_RESTART;
    if (this.state !== 'listening' && !reloading) {
      this.metrics.upgradeRejected(503);
      return rejectUpgrade(socket, 503, 'Server is shutting down', { 'Retry-After': '1' });
    }
    const verdict = checkUpgrade(request, this.services);
    if (!verdict.ok) {
      this.metrics.upgradeRejected(verdict.status);
      return rejectUpgrade(socket, verdict.status, verdict.message, verdict.headers);
    }
    const refusal = this.limits.admit(request, socket);
    if (refusal !== null) {
      this.metrics.upgradeRejected(refusal.status);
      return rejectUpgrade(socket, refusal.status, refusal.message, refusal.headers);
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request, verdict.service, verdict.path, verdict.query));
  }

  private onConnection(ws: WebSocket, request: http.IncomingMessage, service: string, path: string, query: Record<string, string>): void {
    if (this.state !== 'listening') {
      ws.close(this.stopCode, this.stopReason);
      return;
    }
    const id = this.ids.next();
    const headers: Record<string, string> = {};
    for (const name of this.config.forwardHeaders) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const client: ClientInfo = { id, service, path, query: sharedIfEmpty(query), headers: sharedIfEmpty(headers), remoteAddress: request.socket.remoteAddress ?? '' };
    const link = this.links.get(service) as ServiceLink;
    const admission = link.connect(client);
    if (admission !== 'ok') {
      if (admission === 'full') {
        this.routing.serviceQueueFull++;
        this.statusChanged();
        ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'service busy, try again later');
      } else {
        ws.close(CLOSE_CODES.INTERNAL_ERROR, 'service failed');
      }
      return;
    }
    const entry: ClientEntry = { id, service, socket: ws, counters: this.metrics.service(service), link, sharedFrames: takesSharedFrames(ws) };
    this.clients.add(entry);
    entry.counters.open++;
    entry.counters.opened++;
    this.limits.track(ws);
    (ws as EntrySocket)[ENTRY] = entry;
    ws.on('message', this.socketListeners.message);
    ws.on('close', this.socketListeners.close);
    ws.on('error', this.socketListeners.error);
    this.statusChanged();
  }

  private onClosed(entry: ClientEntry, code: number, reason: Buffer): void {
    this.clients.remove(entry);
    entry.counters.open--;
    this.metrics.connectionClosed(entry.service, code);
    entry.link.close(entry.id, code, reason.toString());
    this.statusChanged();
  }

  private onMessage(entry: ClientEntry, data: Buffer, isBinary: boolean): void {
    if (!this.limits.allowMessage(entry.socket)) return;
    entry.counters.messagesIn++;
    entry.counters.bytesIn += data.length;
    let ts: number | undefined;
    if (++this.messagesSinceSample >= DELIVERY_SAMPLE_EVERY) {
      this.messagesSinceSample = 0;
      ts = Date.now();
    }
    const admission = entry.link.message(entry.id, isBinary ? data.toString('base64') : data.toString(), isBinary, ts);
    if (admission === 'ok') {
      this.statusChanged();
      return;
    }
    if (admission === 'failed') {
      entry.socket.close(CLOSE_CODES.INTERNAL_ERROR, 'service failed');
      return;
    }
    this.routing.serviceQueueFull++;
    this.statusChanged();
    this.log.warn({ client: entry.id, service: entry.service }, 'too many unacknowledged messages for the service; closing client with 1013');
    entry.socket.close(CLOSE_CODES.TRY_AGAIN_LATER, 'service busy, try again later');
  }
}

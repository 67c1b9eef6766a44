/**
 * The client-facing side of one worker process: an HTTP server whose upgrades
 * become WebSocket clients of a service, and the traffic between those
 * sockets and the master.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { WorkerConfig } from '../child-env';
import { ClientIdAllocator } from '../client-id';
import { CLOSE_CODES, isSendableCloseCode, isSendableCloseReason } from '../errors';
import { BatchQueue, type IpcEndpoint } from '../ipc/batch-queue';
import type { Logger } from '../logger';
import { approximateSize, decodePayload, type ClientInfo, type MasterToWorker, type WorkerToMaster } from '../protocol';
import { ClientRegistry } from './client-registry';
import { rejectUpgrade, replyError } from './http-reply';
import { StaticFiles } from './static-files';
import { checkUpgrade, parseTarget, serviceForPath } from './upgrade-check';

type WorkerState = 'starting' | 'listening' | 'stopping' | 'stopped';

/** How long stopping clients get to answer the close handshake before they are cut. */
const CLOSE_HANDSHAKE_GRACE_MS = 2000;

export class WorkerServer {
  readonly clients = new ClientRegistry();
  private state: WorkerState = 'starting';
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly ids: ClientIdAllocator;
  private readonly services: ReadonlySet<string>;
  private readonly outbox: BatchQueue<WorkerToMaster>;
  private readonly staticFiles: StaticFiles | undefined;

  constructor(
    private readonly config: WorkerConfig,
    workerId: number,
    endpoint: IpcEndpoint,
    private readonly log: Logger,
    private readonly onStopped: () => void = () => {},
  ) {
    this.ids = new ClientIdAllocator(workerId);
    this.services = new Set(config.services);
    this.staticFiles = config.staticDir === false ? undefined : new StaticFiles(config.staticDir, log);
    this.outbox = new BatchQueue(endpoint, {
      maxMessages: config.ipc.maxMessages,
      maxBytes: config.ipc.maxBytes,
      onError: (error) => log.debug({ err: error }, 'IPC write to master failed'),
    });
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: config.maxPayload,
    });
    this.http = http.createServer((request, response) => this.onRequest(request, response));
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

  /** Handles one message from the master. */
  handle(message: MasterToWorker): void {
    switch (message.type) {
      case 'send': {
        const socket = this.clients.get(message.id);
        if (socket !== undefined && socket.readyState === WebSocket.OPEN) {
          socket.send(decodePayload(message), { binary: message.binary === true });
        }
        return;
      }
      case 'broadcast': {
        const data = decodePayload(message);
        const binary = message.binary === true;
        const except = message.except === undefined ? undefined : new Set(message.except);
        for (const [id, socket] of this.clients.ofService(message.service)) {
          if (except !== undefined && except.has(id)) continue;
          if (socket.readyState === WebSocket.OPEN) socket.send(data, { binary });
        }
        return;
      }
      case 'close': {
        const socket = this.clients.get(message.id);
        if (socket === undefined) return;
        const code = isSendableCloseCode(message.code) ? message.code : CLOSE_CODES.NORMAL;
        socket.close(code, isSendableCloseReason(message.reason) ? message.reason : '');
        return;
      }
      case 'stop':
        void this.stop(message.code, message.reason).then(this.onStopped);
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * Stops accepting, closes every client with `code`, reports their closes to
   * the master and resolves once all of that is written.
   */
  async stop(code: number = CLOSE_CODES.GOING_AWAY, reason = 'server shutting down'): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const sockets = [...this.clients.all()];
    await Promise.all(sockets.map((socket) => this.closeAndWait(socket, code, reason)));
    await closed;
    await this.outbox.drained();
    this.state = 'stopped';
  }

  private closeAndWait(socket: WebSocket, code: number, reason: string): Promise<void> {
    return new Promise((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(() => socket.terminate(), CLOSE_HANDSHAKE_GRACE_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(code, reason);
    });
  }

  private send(message: WorkerToMaster, mustKeep = false): boolean {
    return this.outbox.push(message, approximateSize(message), mustKeep);
  }

  private onRequest(request: http.IncomingMessage, response: http.ServerResponse): void {
    const target = parseTarget(request.url);
    if (target === undefined) return replyError(response, 400, 'Invalid request target');
    if (serviceForPath(target.pathname, this.services) !== undefined) {
      return replyError(response, 426, 'This path accepts WebSocket connections only', { Upgrade: 'websocket', Connection: 'Upgrade' });
    }
    if (this.staticFiles !== undefined) return this.staticFiles.serve(request, response);
    replyError(response, 404, 'Not found');
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    this.log.debug({ err: error }, 'bad HTTP request');
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    rejectUpgrade(socket, status, status === 431 ? 'Request header fields too large' : 'Bad request');
  }

  private onUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.log.debug({ err: error }, 'socket error during upgrade'));
    if (this.state !== 'listening') return rejectUpgrade(socket, 503, 'Server is shutting down', { 'Retry-After': '1' });
    const verdict = checkUpgrade(request, this.services);
    if (!verdict.ok) return rejectUpgrade(socket, verdict.status, verdict.message, verdict.headers);
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request, verdict.service, verdict.path, verdict.query));
  }

  private onConnection(ws: WebSocket, request: http.IncomingMessage, service: string, path: string, query: Record<string, string>): void {
    const id = this.ids.next();
    const headers: Record<string, string> = {};
    for (const name of this.config.forwardHeaders) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const client: ClientInfo = { id, service, path, query, headers, remoteAddress: request.socket.remoteAddress ?? '' };
    if (!this.send({ type: 'connect', client })) {
      ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'server busy');
      return;
    }
    this.clients.add(id, service, ws);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(ws, id, service, data as Buffer, isBinary));
    ws.on('close', (code: number, reason: Buffer) => {
      this.clients.remove(id, service);
      this.send({ type: 'close', service, id, code, reason: reason.toString() }, true);
    });
    ws.on('error', (error) => this.log.debug({ err: error, client: id }, 'client connection error'));
  }

  private onMessage(ws: WebSocket, id: string, service: string, data: Buffer, isBinary: boolean): void {
    const message: WorkerToMaster = isBinary
      ? { type: 'message', service, id, data: data.toString('base64'), binary: true }
      : { type: 'message', service, id, data: data.toString() };
    if (!this.send(message)) {
      this.log.warn({ client: id, service }, 'IPC queue to master is full; closing client');
      ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'server busy, try again later');
    }
  }
}

/**
 * The operations endpoints (`/healthz`, `/readyz`, `/metrics`) on an address
 * of their own (`opsPort`, `opsHost`), served by the master, when they should
 * not be on the public port.
 *
 * Why the master and not a worker: the master is what answers these queries
 * anyway (a worker forwards each to it over IPC, cluster-queries.ts), and it
 * is the one process that lives as long as the server: a worker is replaced
 * at every rolling reload and restarted after a crash, so probes served by
 * one would fail while it is, which is exactly when they matter. It costs
 * the master one small HTTP server; no client message passes through it.
 *
 * Bounded like any listener: few connections at once (probes and scrapers
 * are few), short header and request timeouts, small request heads, and no
 * request body is read.
 */
import * as http from 'node:http';
import { SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import type { ClusterQuery } from '../protocol';
import type { QueryReply } from './cluster-queries';

/** Most connections at once: a few probes and scrapers; past it the kernel queues, then refuses. */
export const OPS_MAX_CONNECTIONS = 64;
/** Probes send a short request at once: anything slower is not one. */
const OPS_HEADERS_TIMEOUT_MS = 5000;
const OPS_MAX_HEADER_SIZE = 8 * 1024;

/** The path of each endpoint, or null when it is off. */
export interface OpsPaths {
  readonly health: string | null;
  readonly ready: string | null;
  readonly metrics: string | null;
}

export type AnswerQuery = (what: ClusterQuery, reply: QueryReply) => void;

function replyText(response: http.ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

export class OpsServer {
  private readonly server: http.Server;
  private readonly routes: ReadonlyMap<string, ClusterQuery>;

  constructor(
    paths: OpsPaths,
    private readonly answer: AnswerQuery,
    private readonly log: Logger,
  ) {
    const routes = new Map<string, ClusterQuery>();
    if (paths.health !== null) routes.set(paths.health, 'health');
    if (paths.ready !== null) routes.set(paths.ready, 'ready');
    if (paths.metrics !== null) routes.set(paths.metrics, 'metrics');
    this.routes = routes;
    this.server = http.createServer(
      { headersTimeout: OPS_HEADERS_TIMEOUT_MS, requestTimeout: OPS_HEADERS_TIMEOUT_MS * 2, maxHeaderSize: OPS_MAX_HEADER_SIZE },
      (request, response) => this.handle(request, response),
    );
    this.server.maxConnections = OPS_MAX_CONNECTIONS;
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      this.log.debug({ err: error }, 'bad request on the ops port');
      socket.destroy();
    });
  }

  /** Listens on `host:port` (0: any free port); resolves with the bound port, or rejects with `SY_ERR_ADDRESS_IN_USE`. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void =>
        reject(new SwitchyardError('SY_ERR_ADDRESS_IN_USE', `cannot listen for the ops endpoints on ${host}:${port}: ${error.code ?? error.message}`, { cause: error }));
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.off('error', onError);
        this.server.on('error', (error) => this.log.error({ err: error }, 'ops server error'));
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /** Stops listening and closes every connection; resolves when it is closed. */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    // No route reads a body: whatever was sent is discarded.
    request.resume();
    const pathname = (request.url ?? '/').split('?', 1)[0] as string;
    const what = this.routes.get(pathname);
    if (what === undefined) return replyText(response, 404, 'not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') return replyText(response, 405, 'use GET\n', { Allow: 'GET, HEAD' });
    this.answer(what, (result) => {
      if (response.destroyed) return;
      response.writeHead(result.status, { 'Content-Type': result.contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(result.body) });
      response.end(request.method === 'HEAD' ? undefined : result.body);
    });
  }
}

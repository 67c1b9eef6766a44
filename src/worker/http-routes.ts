/**
 * Plain HTTP requests (not upgrades) on a worker: health, readiness and metrics for the
 * whole cluster (asked of the master), requests to a service's `onRequest`
 * below `/services/<name>`, a 426 on WebSocket-only service paths, and 404.
 *
 * Collision rule: service names are matched only for WebSocket upgrades and
 * below `/services/`; the health and metrics paths answer plain requests only.
 * A service named `metrics` is still reached at `ws://…/metrics`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkerConfig } from '../child-env';
import { formatClientId, sequenceOfClientId, workerOfClientId } from '../client-id';
import { PendingReplies, type PendingHandlers } from '../pending-replies';
import { SERVICE_HTTP_PREFIX } from '../options';
import type { ClusterQuery, HttpRequestFields, MasterToWorker, Payload, WorkerToMaster } from '../protocol';
import type { Logger } from '../logger';
import { ThrottledWarning } from '../throttled-log';
import { authRequestOf, type AuthOutcome, type Authenticator } from './authenticate';
import { CorsPolicy } from './cors';
import { replyCode, replyError } from './http-reply';
import type { Refusal } from './limits';
import { SERVICE_GONE, ServiceCall, WORKER_STOPPING, type ServiceCallContext, type ServiceResponse } from './http-service-call';
import { BodyBudget, readBody, type BodyLimits } from './request-body';
import { checkRequestHead, parseTarget, serviceForPath } from './upgrade-check';
import type { WorkerMetrics } from './worker-metrics';

export type { ServiceResponse };
type QueryResult = Extract<MasterToWorker, { type: 'queryResult' }>;

/** How long a worker waits for the master to answer a health or metrics query. */
export const QUERY_TIMEOUT_MS = 3000;

export interface HttpRoutesDeps {
  readonly config: WorkerConfig;
  readonly workerId: number;
  readonly log: Logger;
  readonly metrics: WorkerMetrics;
  /** Sends a query to the master; false when the queue is full. */
  readonly query: (message: WorkerToMaster) => boolean;
  /** Sends a request to a service: `unavailable` while it is down, `busy` when its queue is full. */
  readonly request: (service: string, fields: HttpRequestFields & Payload) => 'sent' | 'unavailable' | 'busy';
  /** Answers what no route took (static files, or 404). */
  readonly fallback: (request: IncomingMessage, response: ServerResponse) => void;
  /** Admits a plain request by its client's address (`maxHttpConnectionsPerIp`): null, or how to refuse it. */
  readonly admit: (request: IncomingMessage, address: string) => Refusal | null;
  /** The client's address: the TCP peer's, or the one a trusted proxy forwarded (client-address.ts). */
  readonly addressOf: (request: IncomingMessage) => string;
  /** With `authenticate` or `jwt`: every request to a service is authenticated first. */
  readonly authenticator?: Authenticator | undefined;
}

type Identity = Extract<AuthOutcome, { ok: true }>;

/** Whether a request announces a body (which a refusal before reading it leaves on the connection). */
function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export class HttpRoutes {
  private readonly services: ReadonlySet<string>;
  /**
   * Requests waiting for each service, one table per service: a response is
   * looked up only in the table of the service whose link carried it, so no
   * service can answer (or even guess) another's requests.
   */
  private readonly serviceRequests = new Map<string, PendingReplies<ServiceResponse>>();
  /** What every request to a service shares (its table among them), by service. */
  private readonly callContexts = new Map<string, ServiceCallContext>();
  private readonly queries = new PendingReplies<QueryResult>();
  /** Request-body bytes this worker holds at once, over every service (`maxBufferedRequestBytes`). */
  private readonly budget: BodyBudget;
  private readonly bodyLimits: BodyLimits;
  private readonly overBudget: ThrottledWarning;
  private readonly overAddressCap: ThrottledWarning;
  /** With `corsOrigins`: preflights and CORS headers for requests to services. */
  private readonly cors: CorsPolicy | undefined;
  /** The level of the access lines (`accessLog`), or undefined when none would be written: then nothing is paid per request. */
  private readonly accessLevel: 'debug' | 'info' | undefined;

  constructor(private readonly deps: HttpRoutesDeps) {
    const { limits } = deps.config;
    this.budget = new BodyBudget(limits.maxBufferedRequestBytes);
    this.bodyLimits = { maxBytes: deps.config.maxRequestBody, idleTimeout: limits.requestBodyIdleTimeout };
    // A peer can trigger both once per request: one line per interval, with how many were not logged.
    this.overBudget = new ThrottledWarning(deps.log, 'request bodies over maxBufferedRequestBytes on this worker: answered 503');
    this.overAddressCap = new ThrottledWarning(deps.log, 'plain HTTP connections from one address over maxHttpConnectionsPerIp: answered 429');
    this.services = new Set(deps.config.services);
    this.cors = limits.corsOrigins === false ? undefined : new CorsPolicy(limits.corsOrigins);
    this.accessLevel = limits.accessLog !== 'off' && deps.log.isLevelEnabled(limits.accessLog) ? limits.accessLog : undefined;
    for (const service of deps.config.services) {
      const pending = new PendingReplies<ServiceResponse>();
      this.serviceRequests.set(service, pending);
      this.callContexts.set(service, {
        service,
        pending,
        workerId: deps.workerId,
        requestTimeout: deps.config.requestTimeout,
        maxBodyBytes: this.bodyLimits.maxBytes,
        idleTimeout: this.bodyLimits.idleTimeout,
        metrics: deps.metrics,
        log: deps.log,
        send: deps.request,
        overBudget: (name) => this.overBudget.warn({ service: name, heldBytes: this.budget.held, maxBufferedRequestBytes: this.budget.limit }),
      });
    }
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    if (this.accessLevel !== undefined) this.logAccess(request, response, this.accessLevel);
    const problem = checkRequestHead(request);
    if (problem !== undefined) {
      // The body (if any) cannot be delimited: the connection ends with this answer.
      response.setHeader('Connection', 'close');
      return replyError(response, 400, problem);
    }
    const address = this.deps.addressOf(request);
    const refusal = this.deps.admit(request, address);
    if (refusal !== null) {
      this.overAddressCap.warn({ address });
      // Its body is not read: the connection ends with this answer, which frees nothing but tells the client to back off.
      response.setHeader('Connection', 'close');
      return replyError(response, refusal.status, refusal.message, refusal.headers);
    }
    const target = parseTarget(request.url);
    if (target === undefined) return replyError(response, 400, 'Invalid request target');
    const { healthPath, metricsPath, readyPath } = this.deps.config;
    if (target.pathname === healthPath) return this.answerQuery(request, response, 'health');
    if (target.pathname === readyPath) return this.answerQuery(request, response, 'ready');
    if (target.pathname === metricsPath) return this.answerQuery(request, response, 'metrics');
    if (target.pathname.startsWith(SERVICE_HTTP_PREFIX)) return this.toService(request, response, target.pathname, target.query);
    if (serviceForPath(target.pathname, this.services) !== undefined) {
      return replyError(response, 426, 'This path accepts WebSocket connections only', { Upgrade: 'websocket', Connection: 'Upgrade' });
    }
    this.deps.fallback(request, response);
  }

  /** One line once the response is done (or its connection ended first): only when `accessLog` lines are written. */
  private logAccess(request: IncomingMessage, response: ServerResponse, level: 'debug' | 'info'): void {
    const started = performance.now();
    response.once('close', () => {
      const line: Record<string, unknown> = {
        method: request.method,
        // The path only: a query string may carry tokens.
        path: (request.url ?? '').split('?', 1)[0],
        status: response.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        address: this.deps.addressOf(request),
      };
      if (!response.writableFinished) line.aborted = true;
      this.deps.log[level](line, 'http request');
    });
  }

  /** The master's answer to a health or metrics query. */
  settleQuery(message: QueryResult): void {
    this.queries.settle(message.qid, message);
  }

  /** A service's answer, as its link carried it; false when it answers no request of that service on this worker. */
  settleResponse(service: string, message: ServiceResponse): boolean {
    // Request ids are formatted like client ids: `<worker>.<seq>`.
    const seq = workerOfClientId(message.rid) === this.deps.workerId ? sequenceOfClientId(message.rid) : undefined;
    if (seq !== undefined && this.serviceRequests.get(service)?.settle(seq, message) === true) return true;
    this.deps.log.debug({ service, rid: message.rid }, 'late, unknown or foreign response ignored');
    return false;
  }

  /**
   * A call from the worker's own HTTP app (app-services.ts): registered with
   * the service's HTTP requests, so that its answer is paired by the same
   * `rid` and it is cancelled the same way (instance gone, worker stopping).
   * `send` puts it on the link. Returns false, registering nothing, for a
   * service this worker does not know.
   */
  callService(service: string, send: (rid: string) => 'sent' | 'unavailable' | 'busy', handlers: PendingHandlers<ServiceResponse>): 'sent' | 'unavailable' | 'busy' | 'unknown' {
    const pending = this.serviceRequests.get(service);
    if (pending === undefined) return 'unknown';
    const seq = pending.add(this.deps.config.requestTimeout, handlers);
    const outcome = send(formatClientId(this.deps.workerId, seq));
    if (outcome !== 'sent') pending.forget(seq);
    return outcome;
  }

  /** The service's instance is gone (crashed or retired): its waiting requests are answered 503 now, not 504 later. */
  serviceGone(service: string): void {
    this.serviceRequests.get(service)?.cancelAll(SERVICE_GONE);
  }

  /**
   * One instance of a service of several is gone: the requests in `rids`
   * that still wait (those sent to it) are answered 503 now; the other
   * instances' requests keep waiting for their answers.
   */
  instanceGone(service: string, rids: Iterable<string>): void {
    const pending = this.serviceRequests.get(service);
    if (pending === undefined) return;
    for (const rid of rids) {
      const seq = workerOfClientId(rid) === this.deps.workerId ? sequenceOfClientId(rid) : undefined;
      if (seq !== undefined) pending.cancel(seq, SERVICE_GONE);
    }
  }

  /** Answers everything still waiting (the worker is stopping). */
  close(): void {
    for (const pending of this.serviceRequests.values()) pending.cancelAll(WORKER_STOPPING);
    this.queries.cancelAll(WORKER_STOPPING);
  }

  private answerQuery(request: IncomingMessage, response: ServerResponse, what: ClusterQuery): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') return replyError(response, 405, 'Use GET', { Allow: 'GET, HEAD' });
    request.resume();
    const qid = this.queries.add(QUERY_TIMEOUT_MS, {
      onReply: (result) => {
        response.writeHead(result.status, { 'Content-Type': result.contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(result.body) });
        response.end(request.method === 'HEAD' ? undefined : result.body);
      },
      onTimeout: () => replyError(response, 503, 'The master did not answer in time', { 'Retry-After': '1' }),
      onCancel: () => replyError(response, 503, 'Server is shutting down', { 'Retry-After': '1' }),
    });
    response.on('close', () => this.queries.forget(qid));
    if (!this.deps.query({ type: 'query', qid, what })) {
      this.queries.forget(qid);
      replyError(response, 503, 'Server busy', { 'Retry-After': '1' });
    }
  }

  private toService(request: IncomingMessage, response: ServerResponse, pathname: string, query: Record<string, string>): void {
    const rest = pathname.slice(SERVICE_HTTP_PREFIX.length);
    const slash = rest.indexOf('/');
    const service = slash === -1 ? rest : rest.slice(0, slash);
    const context = this.callContexts.get(service);
    if (context === undefined) {
      this.deps.metrics.httpRequest('(unknown)', 404);
      return replyError(response, 404, `No service "${service}"`);
    }
    const call = new ServiceCall(context, request, response, slash === -1 ? '/' : rest.slice(slash), query);
    if (this.cors?.handle(request, response) === true) {
      request.resume();
      return call.finish(response.statusCode);
    }
    const { authenticator } = this.deps;
    if (authenticator === undefined) return this.receive(request, call, undefined);
    // Before the body is read: a request without a valid identity costs no buffering, and the service never sees it.
    authenticator.run(authRequestOf(request, pathname, query, this.deps.addressOf(request)), (outcome) => {
      if (response.destroyed) return;
      if (outcome.ok) return this.receive(request, call, outcome);
      call.finish(outcome.status);
      if (hasBody(request)) response.setHeader('Connection', 'close');
      replyCode(response, outcome.status, outcome.code, outcome.message, outcome.headers);
    });
  }

  private receive(request: IncomingMessage, call: ServiceCall, identity: Identity | undefined): void {
    readBody(request, this.budget, this.bodyLimits, (outcome) => call.bodyDone(outcome, identity));
  }
}


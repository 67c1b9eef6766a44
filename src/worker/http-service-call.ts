/**
 * One HTTP request to a service's `onRequest` on a worker, from its body to
 * the response written: the body is read (`request-body.ts`), the request
 * goes on the service's link, and the answer, the timeout or the
 * cancellation is written. One object per request holds what each of those
 * steps needs and is itself the handlers of its pending entry, in place of a
 * closure per step (six per request before: body done, reply, timeout,
 * cancel, the response's close, the status count).
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatClientId } from '../client-id';
import type { Logger } from '../logger';
import type { PendingHandlers, PendingReplies } from '../pending-replies';
import { decodePayload, type HttpRequestFields, type Payload, type ServiceToWorker } from '../protocol';
import { RETRY_AFTER_SECONDS } from './connection-gate';
import { replyCode, replyError } from './http-reply';
import type { AuthOutcome } from './authenticate';
import type { BodyOutcome } from './request-body';
import type { WorkerMetrics } from './worker-metrics';

export type ServiceResponse = Extract<ServiceToWorker, { type: 'response' }>;
type Identity = Extract<AuthOutcome, { ok: true }>;

/** Why pending requests are cancelled: their service's instance is gone, or this worker stops. */
export const SERVICE_GONE = 'service gone';
export const WORKER_STOPPING = 'worker stopping';

/** Headers a service may not set: they describe the connection, which the worker owns. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'trailer', 'te', 'proxy-connection']);

/** What every call to one service shares (one per service and worker). */
export interface ServiceCallContext {
  readonly service: string;
  /** This service's waiting requests: a response is looked up only in the table of the link that carried it. */
  readonly pending: PendingReplies<ServiceResponse>;
  readonly workerId: number;
  readonly requestTimeout: number;
  readonly maxBodyBytes: number;
  readonly idleTimeout: number;
  readonly metrics: WorkerMetrics;
  readonly log: Logger;
  /** Sends a request to the service: `unavailable` while it is down, `busy` when its queue is full. */
  readonly send: (service: string, fields: HttpRequestFields & Payload) => 'sent' | 'unavailable' | 'busy';
  /** Warns (throttled) that the worker's body budget refused a body. */
  readonly overBudget: (service: string) => void;
}

/** Where a response keeps its call for the shared `'close'` listener (no closure per request). */
const CALL = Symbol('switchyard.service-call');
type CallResponse = ServerResponse & { [CALL]?: ServiceCall };

/** The response closed (answered, or its client went away first): a call still waiting is dropped, its entry and timer with it. */
function responseOnClose(this: ServerResponse): void {
  const call = (this as CallResponse)[CALL];
  if (call === undefined) return;
  (this as CallResponse)[CALL] = undefined;
  call.forget();
}

export class ServiceCall implements PendingHandlers<ServiceResponse> {
  /** The pending entry's number, once the request was sent (0 before). */
  private seq = 0;

  constructor(
    private readonly context: ServiceCallContext,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly path: string,
    private readonly query: Record<string, string>,
  ) {}

  /** Counts the request under its status (`switchyard_http_requests_total`). */
  finish(status: number): void {
    this.context.metrics.httpRequest(this.context.service, status);
  }

  /** Answers a body that is not read to its end; the rest of it cannot be skipped reliably, so the connection closes. */
  refuse(status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
    this.finish(status);
    this.response.setHeader('Connection', 'close');
    replyError(this.response, status, message, headers);
  }

  /** How the body read ended (`readBody`'s `onDone`): forwarded when complete, else refused. */
  bodyDone(outcome: BodyOutcome, identity: Identity | undefined): void {
    switch (outcome.kind) {
      case 'complete':
        return this.forward(outcome.body, identity);
      case 'tooLarge':
        return this.refuse(413, `Request body over ${this.context.maxBodyBytes} bytes`);
      case 'overBudget':
        this.context.overBudget(this.context.service);
        return this.refuse(503, 'Too many request bodies in progress', { 'Retry-After': RETRY_AFTER_SECONDS });
      case 'idle':
        return this.refuse(408, `Request body paused for more than ${this.context.idleTimeout} ms`);
      case 'aborted':
        // The client went away mid-body: nobody to answer.
        return;
      default: {
        const unreachable: never = outcome;
        throw new Error(`unhandled body outcome ${JSON.stringify(unreachable)}`);
      }
    }
  }

  onReply(reply: ServiceResponse): void {
    this.unlink();
    this.finish(this.write(reply));
  }

  onTimeout(): void {
    this.unlink();
    this.finish(504);
    replyError(this.response, 504, `Service "${this.context.service}" did not answer within ${this.context.requestTimeout} ms`);
  }

  onCancel(reason: string): void {
    this.unlink();
    this.finish(503);
    if (reason === SERVICE_GONE) return replyCode(this.response, 503, 'SY_ERR_SERVICE_UNAVAILABLE', `service "${this.context.service}" went away before answering`, { 'Retry-After': '1' });
    replyError(this.response, 503, 'Server is shutting down', { 'Retry-After': '1' });
  }

  /** The response closed before the call settled: nothing will be written. */
  forget(): void {
    this.context.pending.forget(this.seq);
  }

  private forward(body: Buffer, identity: Identity | undefined): void {
    const { context, request, response } = this;
    // Every header, lower-case, repeated ones joined (as node gives them), as strings. Only `set-cookie` is ever
    // an array in node's object: without it the object already is that, and goes as it is (nothing here changes it).
    const given = request.headers;
    const headers = given['set-cookie'] === undefined ? (given as Record<string, string>) : joinedHeaders(given);
    const seq = context.pending.add(context.requestTimeout, this);
    this.seq = seq;
    (response as CallResponse)[CALL] = this;
    response.on('close', responseOnClose);
    const rid = formatClientId(context.workerId, seq);
    const method = request.method ?? 'GET';
    // The link message's fields in one object: text as a string when it is valid UTF-8, else the bytes.
    const fields: HttpRequestFields & Payload =
      body.length === 0
        ? { rid, method, path: this.path, query: this.query, headers, data: '' }
        : isUtf8(body)
          ? { rid, method, path: this.path, query: this.query, headers, data: body.toString('utf8') }
          : { rid, method, path: this.path, query: this.query, headers, data: body, binary: true };
    const outcome = context.send(context.service, identity === undefined ? fields : withIdentity(fields, identity));
    if (outcome === 'sent') return;
    this.unlink();
    context.pending.forget(seq);
    this.finish(503);
    if (outcome === 'busy') return replyError(response, 503, 'Server busy', { 'Retry-After': '1' });
    replyCode(response, 503, 'SY_ERR_SERVICE_UNAVAILABLE', `service "${context.service}" is not available`, { 'Retry-After': '1' });
  }

  /** Settled: the response's close has nothing left to drop. */
  private unlink(): void {
    (this.response as CallResponse)[CALL] = undefined;
  }

  /** Writes a service's answer; returns the status actually sent (502 when the answer was invalid). */
  private write(reply: ServiceResponse): number {
    const { response } = this;
    if (response.headersSent || response.destroyed) return reply.status;
    const body = decodePayload(reply);
    try {
      if (reply.status < 200 || reply.status > 599) throw new RangeError(`status ${reply.status}`);
      const { headers } = reply;
      const names = Object.keys(headers);
      const length = reply.status === 204 || reply.status === 304 ? undefined : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      if (names.length <= 1) {
        // The usual answer (a content type, or nothing): the headers go to writeHead as one object, which node
        // validates as setHeader would, without building its table of set headers first.
        const out: Record<string, string | number> = {};
        const name = names[0];
        if (name !== undefined && !HOP_BY_HOP.has(name.toLowerCase())) out[name] = headers[name] as string;
        if (length !== undefined) out['Content-Length'] = length;
        response.writeHead(reply.status, out);
      } else {
        // Several: through setHeader, whose last value wins among names that differ only in case.
        for (const name of names) {
          if (!HOP_BY_HOP.has(name.toLowerCase())) response.setHeader(name, headers[name] as string);
        }
        if (length !== undefined) response.setHeader('Content-Length', length);
        response.writeHead(reply.status);
      }
    } catch (error) {
      this.context.log.warn({ err: error, service: this.context.service }, 'service answered with an invalid HTTP response');
      for (const name of response.getHeaderNames()) response.removeHeader(name);
      replyError(response, 502, `Service "${this.context.service}" answered with an invalid response`);
      return 502;
    }
    response.end(body);
    return reply.status;
  }
}

/** A copy of node's headers with every array value joined. */
function joinedHeaders(given: IncomingMessage['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    const value = given[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** The fields with the request's own identity (with `authenticate` or `jwt`). */
function withIdentity(fields: HttpRequestFields & Payload, identity: Identity): HttpRequestFields & Payload {
  return identity.claims === undefined ? { ...fields, user: identity.user } : { ...fields, user: identity.user, claims: identity.claims };
}

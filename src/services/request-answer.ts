/**
 * Turns what `onRequest` returned (or threw) into an HTTP response for the
 * worker to write.
 */
import { decodePayload, encodePayload, type HttpRequestFields, type Payload } from '../protocol';
import { isReply, RequestError, type ServiceRequest } from './request';
import type { Service } from './service';
import { isThenable } from '../thenable';

export type { ServiceRequest };

export interface HttpAnswer extends Payload {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ErrorReply {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** The status, code and message an error becomes; internals of unexpected errors are not exposed. */
export function errorReply(error: unknown): ErrorReply {
  if (error instanceof RequestError && Number.isInteger(error.status) && error.status >= 400 && error.status <= 599) {
    return { status: error.status, code: error.code, message: error.message };
  }
  return { status: 500, code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' };
}

function addType(headers: Record<string, string>, type: string): Record<string, string> {
  headers['content-type'] = type;
  return headers;
}

function bodyAnswer(status: number, body: unknown, given: Readonly<Record<string, unknown>>): HttpAnswer {
  // Header values must cross IPC as strings; the worker's setHeader then refuses bad ones with a 502.
  const headers: Record<string, string> = {};
  let hasType = false;
  for (const name of Object.keys(given)) {
    headers[name] = String(given[name]);
    if (!hasType && name.toLowerCase() === 'content-type') hasType = true;
  }
  // One headers object per answer (a copy of `given`, never `given` itself), its content type added unless it has one.
  if (body === undefined) return { status: status === 200 ? 204 : status, headers, data: '' };
  if (typeof body === 'string') return { status, headers: hasType ? headers : addType(headers, 'text/plain; charset=utf-8'), data: body };
  if (Buffer.isBuffer(body)) return { status, headers: hasType ? headers : addType(headers, 'application/octet-stream'), ...encodePayload(body) };
  if (body instanceof Uint8Array) {
    return { status, headers: hasType ? headers : addType(headers, 'application/octet-stream'), ...encodePayload(Buffer.from(body.buffer, body.byteOffset, body.byteLength)) };
  }
  const json = JSON.stringify(body);
  if (json === undefined) throw new TypeError('the reply body cannot be serialized as JSON');
  return { status, headers: hasType ? headers : addType(headers, 'application/json; charset=utf-8'), data: json };
}

/** The HTTP answer for what `onRequest` returned; throws when it cannot be sent (the caller answers 500). */
export function toHttpAnswer(value: unknown): HttpAnswer {
  if (isReply(value)) return bodyAnswer(value.status, value.body, value.headers);
  return bodyAnswer(200, value, {});
}

export function errorAnswer(error: unknown): HttpAnswer {
  const { status, code, message } = errorReply(error);
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, data: JSON.stringify({ error: code, message }) };
}

/** The request `onRequest` sees for an HTTP request as the link carried it. */
function httpRequestOf(message: HttpRequestFields & Payload): ServiceRequest {
  return {
    transport: 'http',
    client: undefined,
    method: message.method,
    path: message.path,
    query: message.query,
    headers: message.headers,
    body: decodePayload(message),
    user: message.user,
    claims: message.claims,
  };
}

/** The answer for an error `onRequest` threw or rejected with; `onFailure` hears of the unexpected ones. */
function failedAnswer(error: unknown, onFailure: (error: unknown) => void): HttpAnswer {
  const answer = errorAnswer(error);
  if (answer.status >= 500 && !(error instanceof RequestError)) onFailure(error);
  return answer;
}

/**
 * Calls `onRequest` for an HTTP request. A handler that returns a value (not
 * a promise) is answered at once, in the same turn, with no promise and no
 * timer (the bundled echo's case, and most handlers'); one that returns a
 * promise gets a promise of its answer, which always resolves. Either way
 * the answer is what `await onRequest(...)` would have given.
 */
export function answerHttp(service: Service<unknown, unknown>, message: HttpRequestFields & Payload, onFailure: (error: unknown) => void): HttpAnswer | Promise<HttpAnswer> {
  let value: unknown;
  try {
    value = service.onRequest(httpRequestOf(message));
    if (!isThenable(value)) return toHttpAnswer(value);
  } catch (error) {
    return failedAnswer(error, onFailure);
  }
  return Promise.resolve(value).then(toHttpAnswer).then(undefined, (error: unknown) => failedAnswer(error, onFailure));
}

/**
 * A publish the worker's HTTP app asked for (`services.publish`): done here,
 * as the service's own `publish` (interest routing included); the answer's
 * body is how many subscribers it goes to, or a 400 for a bad topic.
 */
export function publishAnswer(service: Pick<Service<unknown, unknown>, 'publish'>, topic: string, data: string | Buffer): HttpAnswer {
  try {
    return { status: 200, headers: {}, data: String(service.publish(topic, data)) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { status: 400, headers: { 'content-type': 'application/json; charset=utf-8' }, data: JSON.stringify({ error: 'SY_ERR_INVALID_ARGUMENT', message }) };
  }
}

/** The answer to a request that reached an instance on its way out (a reload retires it): 503, try again in a second. */
export function unavailableAnswer(service: string): HttpAnswer {
  return {
    status: 503,
    headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' },
    data: JSON.stringify({ error: 'SY_ERR_SERVICE_UNAVAILABLE', message: `service "${service}" is restarting` }),
  };
}

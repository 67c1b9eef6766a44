/**
 * Answers WebSocket envelope requests (`{"$req": …}` → `{"$res": …}`, the
 * format is in request-envelope.ts): calls `onRequest` and sends exactly one
 * reply, with the handler's result, its error, or SY_ERR_REQUEST_TIMEOUT,
 * whichever comes first. The HTTP counterpart is request-answer.ts.
 */
import { SwitchyardError } from '../errors';
import { MAX_MESSAGE_LENGTH, MESSAGE_OVERHEAD } from '../protocol';
import { isReply, type ServiceRequest } from './request';
import { errorReply } from './request-answer';
import { formatError, formatResult, parseRequest, type RequestId } from './request-envelope';
import type { Client } from './client';
import type { Service } from './service';

/** Outcomes counted per envelope request (the `outcome` label of the request metric). */
export type EnvelopeOutcome = 'ok' | 'error' | 'timeout' | 'bad_request';

/** What answering needs from the host; one per host, not one per request. */
export interface EnvelopeContext {
  /** The service's handler, and its `send` for the reply. */
  readonly service: Pick<Service<unknown, unknown>, 'onRequest' | 'send'>;
  /** How long `onRequest` may take before SY_ERR_REQUEST_TIMEOUT is sent. */
  readonly requestTimeout: number;
  /** The longest reply that can reach the client (see `maxReplyLength`); a longer one is answered with an error. */
  readonly maxReplyLength: number;
  /** Counts one answered request. */
  count(outcome: EnvelopeOutcome): void;
  /** `onRequest` failed unexpectedly (a 5xx other than SY_ERR_NOT_IMPLEMENTED): logged and counted by the host. */
  failed(client: Client, error: unknown): void;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The longest reply a service can send to a client. Two bounds apply, and
 * either drops a longer reply without a word: `Service.send` refuses a message
 * past MAX_MESSAGE_LENGTH (one link line), and a worker's link queue refuses,
 * even when empty, a message whose size is past its byte bound
 * (`ipcMaxQueuedBytes`, which by default is what bites first).
 */
export function maxReplyLength(queueMaxBytes: number): number {
  return Math.min(MAX_MESSAGE_LENGTH, queueMaxBytes - MESSAGE_OVERHEAD);
}

/**
 * The reply text for a result. Throws when JSON cannot hold the result
 * (circular, BigInt) or when the reply is too long to reach the client: that
 * is the handler's failure, answered as such, never silence.
 */
function resultText(id: RequestId, value: unknown, maxLength: number): string {
  const text = formatResult(id, isReply(value) ? value.body : value);
  if (text.length > maxLength) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `the reply to request ${JSON.stringify(id)} is ${text.length} characters; at most ${maxLength} can be sent`);
  }
  return text;
}

/**
 * Answers one envelope request from `client` exactly once. Returns a promise
 * when `onRequest` did: the client's next events wait for the handler to
 * settle (not just for the reply), to keep their order — but at most
 * `requestTimeout`: the host runs this in the client's lane with that timeout,
 * so at the timeout reply the lane moves on (service-host.ts).
 */
export function answerEnvelope(context: EnvelopeContext, client: Client, text: string): Promise<void> | void {
  const { service } = context;
  const envelope = parseRequest(text);
  if (!envelope.ok) {
    context.count('bad_request');
    service.send(client.id, formatError(envelope.id, 'SY_ERR_BAD_REQUEST', envelope.message));
    return;
  }
  const request: ServiceRequest = {
    transport: 'websocket',
    client,
    method: 'MESSAGE',
    path: client.path,
    query: client.query,
    headers: client.headers,
    body: envelope.data,
    user: client.user,
    claims: client.claims,
  };
  let answered = false;
  const answer = (reply: string, outcome: EnvelopeOutcome): void => {
    if (answered) return;
    answered = true;
    context.count(outcome);
    service.send(client.id, reply);
  };
  const timer = setTimeout(
    () => answer(formatError(envelope.id, 'SY_ERR_REQUEST_TIMEOUT', `no reply within ${context.requestTimeout} ms`), 'timeout'),
    context.requestTimeout,
  );
  const fail = (error: unknown): void => {
    clearTimeout(timer);
    const { code, message, status } = errorReply(error);
    if (status >= 500 && code !== 'SY_ERR_NOT_IMPLEMENTED') context.failed(client, error);
    answer(formatError(envelope.id, code, message), 'error');
  };
  const succeed = (value: unknown): void => {
    let reply: string;
    try {
      reply = resultText(envelope.id, value, context.maxReplyLength);
    } catch (error) {
      return fail(error);
    }
    clearTimeout(timer);
    answer(reply, 'ok');
  };
  let result: unknown;
  try {
    result = service.onRequest(request);
  } catch (error) {
    fail(error);
    return;
  }
  if (!isThenable(result)) return succeed(result);
  return Promise.resolve(result).then(succeed, fail);
}

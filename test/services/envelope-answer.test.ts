import { isSwitchyardError } from '../../src/errors';
import { MAX_MESSAGE_LENGTH, MESSAGE_OVERHEAD } from '../../src/protocol';
import { answerEnvelope, maxReplyLength, type EnvelopeContext, type EnvelopeOutcome } from '../../src/services/envelope-answer';
import { RequestError, reply, type ServiceRequest } from '../../src/services/request';
import type { Client } from '../../src/services/client';

const client: Client = { id: '1.1', service: 'test', path: '/test', query: { room: 'a' }, headers: {}, remoteAddress: '127.0.0.1', resumed: false };

/** A context whose service answers with `handler`; what it sends, counts and reports is recorded. `nextSend()` resolves at the next send. */
function context(handler: (request: ServiceRequest) => unknown, requestTimeout = 10_000, maxLength = MAX_MESSAGE_LENGTH): {
  context: EnvelopeContext;
  sent: string[];
  outcomes: EnvelopeOutcome[];
  failures: unknown[];
  nextSend: () => Promise<void>;
} {
  const sent: string[] = [];
  const outcomes: EnvelopeOutcome[] = [];
  const failures: unknown[] = [];
  let waiters: Array<() => void> = [];
  const service = {
    onRequest: handler,
    send: (id: string, data: unknown): boolean => {
      expect(id).toBe(client.id);
      sent.push(data as string);
      const resolve = waiters;
      waiters = [];
      for (const done of resolve) done();
      return true;
    },
  };
  return {
    context: { service, requestTimeout, maxReplyLength: maxLength, count: (outcome) => void outcomes.push(outcome), failed: (_client, error) => void failures.push(error) },
    sent,
    outcomes,
    failures,
    nextSend: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

const replies = (sent: readonly string[]): unknown[] => sent.map((text) => JSON.parse(text));

test('a sync result is the reply; the request carries the client, its path and query, and the data', () => {
  let seen: ServiceRequest | undefined;
  const c = context((request) => {
    seen = request;
    return reply(201, { ok: true }, { 'x-ignored': 'over websocket' });
  });
  expect(answerEnvelope(c.context, client, '{"$req":"a","data":[1,2]}')).toBeUndefined();
  expect(seen).toEqual({ transport: 'websocket', client, method: 'MESSAGE', path: '/test', query: { room: 'a' }, headers: {}, body: [1, 2] });
  expect(replies(c.sent)).toEqual([{ $res: 'a', data: { ok: true } }]);
  expect(c.outcomes).toEqual(['ok']);
});

test('an unparseable envelope is answered SY_ERR_BAD_REQUEST with a null id, and reaches no handler', () => {
  const c = context(() => {
    throw new Error('must not run');
  });
  void answerEnvelope(c.context, client, '{"$req": oops');
  expect(replies(c.sent)).toEqual([{ $res: null, error: { code: 'SY_ERR_BAD_REQUEST', message: 'request envelope is not valid JSON' } }]);
  expect(c.outcomes).toEqual(['bad_request']);
  expect(c.failures).toEqual([]);
});

test('a RequestError is its own answer; anything else thrown or rejected is SY_ERR_HANDLER_FAILED and reported', async () => {
  const c = context((request) => {
    switch (request.body) {
      case 'request-error':
        throw new RequestError(422, 'bad-input', 'that will not do');
      case 'throw':
        throw new Error('secret');
      default:
        return Promise.reject(new Error('secret too'));
    }
  });
  void answerEnvelope(c.context, client, '{"$req":1,"data":"request-error"}');
  void answerEnvelope(c.context, client, '{"$req":2,"data":"throw"}');
  await answerEnvelope(c.context, client, '{"$req":3,"data":"reject"}');
  expect(replies(c.sent)).toEqual([
    { $res: 1, error: { code: 'bad-input', message: 'that will not do' } },
    { $res: 2, error: { code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' } },
    { $res: 3, error: { code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' } },
  ]);
  expect(c.outcomes).toEqual(['error', 'error', 'error']);
  expect(c.failures.map((error) => (error as Error).message)).toEqual(['secret', 'secret too']);
});

test('a slow handler gets SY_ERR_REQUEST_TIMEOUT, and its late result is dropped; the returned promise waits for the handler', async () => {
  let finish!: (value: unknown) => void;
  const c = context(() => new Promise((resolve) => (finish = resolve)), 20);
  const timedOut = c.nextSend();
  let settled = false;
  const done = Promise.resolve(answerEnvelope(c.context, client, '{"$req":7}')).then(() => (settled = true));
  await timedOut;
  expect(replies(c.sent)).toEqual([{ $res: 7, error: { code: 'SY_ERR_REQUEST_TIMEOUT', message: 'no reply within 20 ms' } }]);
  expect(settled).toBe(false);
  finish('late');
  await done;
  expect(c.sent).toHaveLength(1);
  expect(c.outcomes).toEqual(['timeout']);
});

test('the longest reply is the smaller of one message and what a link queue can hold', () => {
  expect(maxReplyLength(Number.POSITIVE_INFINITY)).toBe(MAX_MESSAGE_LENGTH);
  expect(maxReplyLength(16 * 1024 * 1024 * 1024)).toBe(MAX_MESSAGE_LENGTH);
  // The default queue bound (64 MiB) is what bites first: a message costs its length plus the overhead.
  expect(maxReplyLength(64 * 1024 * 1024)).toBe(64 * 1024 * 1024 - MESSAGE_OVERHEAD);
  expect(maxReplyLength(1024)).toBe(1024 - MESSAGE_OVERHEAD);
});

test('a reply longer than the limit is answered SY_ERR_HANDLER_FAILED and reported; one exactly at it is sent', async () => {
  const frame = '{"$res":1,"data":""}'.length;
  const c = context((request) => 'x'.repeat(1000 - frame + (request.body === 'over' ? 1 : 0)), 10_000, 1000);
  await answerEnvelope(c.context, client, '{"$req":1,"data":"fits"}');
  expect(c.sent.map((text) => text.length)).toEqual([1000]);
  c.sent.length = 0;
  await answerEnvelope(c.context, client, '{"$req":1,"data":"over"}');
  expect(replies(c.sent)).toEqual([{ $res: 1, error: { code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' } }]);
  expect(c.outcomes).toEqual(['ok', 'error']);
  expect(c.failures).toHaveLength(1);
  expect(isSwitchyardError(c.failures[0], 'SY_ERR_INVALID_ARGUMENT')).toBe(true);
});

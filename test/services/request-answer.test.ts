import { answerHttp, errorAnswer, toHttpAnswer, type ServiceRequest } from '../../src/services/request-answer';
import { RequestError, reply } from '../../src/services/request';
import type { Service } from '../../src/services/service';

test('return values become HTTP answers', () => {
  expect(toHttpAnswer('hi')).toEqual({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, data: 'hi' });
  expect(toHttpAnswer(undefined)).toEqual({ status: 204, headers: {}, data: '' });
  expect(toHttpAnswer({ a: 1 })).toEqual({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, data: '{"a":1}' });
  expect(toHttpAnswer(Buffer.from([1, 2]))).toEqual({ status: 200, headers: { 'content-type': 'application/octet-stream' }, data: Buffer.from([1, 2]), binary: true });
  expect(toHttpAnswer(reply(201, 'made', { 'Content-Type': 'text/csv', 'x-a': 'b' }))).toEqual({ status: 201, headers: { 'Content-Type': 'text/csv', 'x-a': 'b' }, data: 'made' });
  expect(() => reply(99)).toThrow(RangeError);
  expect(toHttpAnswer(null)).toEqual({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, data: 'null' });
  expect(toHttpAnswer(reply(200, 'x', { 'x-count': 5 as unknown as string })).headers).toEqual({ 'x-count': '5', 'content-type': 'text/plain; charset=utf-8' });
  expect(() => toHttpAnswer(() => undefined)).toThrow(TypeError);
});

test('errors become JSON answers; only RequestError exposes its message', () => {
  expect(errorAnswer(new RequestError(409, 'conflict', 'taken'))).toEqual({ status: 409, headers: { 'content-type': 'application/json; charset=utf-8' }, data: '{"error":"conflict","message":"taken"}' });
  const internal = errorAnswer(new Error('password=hunter2'));
  expect(internal.status).toBe(500);
  expect(internal.data).not.toContain('hunter2');
  expect(errorAnswer(new RequestError(200, 'weird', 'not an error status')).status).toBe(500);
});

describe('answerHttp: a handler that returns a value is answered in the same turn', () => {
  const message = { rid: '1.1', method: 'POST', path: '/', query: {}, headers: {}, data: 'hello' };
  /** A stand-in for a Service: only `onRequest` is called. */
  function serviceAnswering(onRequest: (request: ServiceRequest) => unknown): Service<unknown, unknown> {
    return { onRequest } as unknown as Service<unknown, unknown>;
  }

  test('a value (or a throw) gives the answer itself, no promise; the request is what onRequest sees over HTTP', () => {
    const seen: ServiceRequest[] = [];
    const failures: unknown[] = [];
    const answer = answerHttp(serviceAnswering((request) => (seen.push(request), request.body)), message, (error) => failures.push(error));
    expect(answer).not.toBeInstanceOf(Promise);
    expect(answer).toEqual({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, data: 'hello' });
    expect(seen[0]).toMatchObject({ transport: 'http', client: undefined, method: 'POST', path: '/', body: 'hello', user: undefined });
    const thrown = new Error('boom');
    expect(answerHttp(serviceAnswering(() => { throw thrown; }), message, (error) => failures.push(error))).toMatchObject({ status: 500 });
    expect(answerHttp(serviceAnswering(() => { throw new RequestError(409, 'conflict', 'taken'); }), message, (error) => failures.push(error))).toMatchObject({ status: 409 });
    // A value JSON cannot hold is the handler's failure too, as before.
    expect(answerHttp(serviceAnswering(() => 10n), message, (error) => failures.push(error))).toMatchObject({ status: 500 });
    expect(failures).toHaveLength(2);
    expect(failures[0]).toBe(thrown);
  });

  test('a promise (or any thenable) gives a promise of the same answers', async () => {
    const failures: unknown[] = [];
    const resolved = answerHttp(serviceAnswering(async (request) => request.body), message, (error) => failures.push(error));
    expect(resolved).toBeInstanceOf(Promise);
    await expect(resolved).resolves.toEqual({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, data: 'hello' });
    const thenable = { then: (resolve: (value: unknown) => void) => resolve({ a: 1 }) };
    await expect(answerHttp(serviceAnswering(() => thenable), message, (error) => failures.push(error))).resolves.toMatchObject({ status: 200, data: '{"a":1}' });
    const rejected = new Error('later');
    await expect(answerHttp(serviceAnswering(() => Promise.reject(rejected)), message, (error) => failures.push(error))).resolves.toMatchObject({ status: 500 });
    await expect(answerHttp(serviceAnswering(async () => { throw new RequestError(404, 'none', 'no'); }), message, (error) => failures.push(error))).resolves.toMatchObject({ status: 404 });
    expect(failures).toEqual([rejected]);
  });
});

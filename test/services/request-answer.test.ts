import { errorAnswer, toHttpAnswer } from '../../src/services/request-answer';
import { RequestError, reply } from '../../src/services/request';

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

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import type { Logger } from '../../src/logger';
import { PendingReplies } from '../../src/pending-replies';
import { ServiceCall, type ServiceCallContext, type ServiceResponse } from '../../src/worker/http-service-call';
import type { WorkerMetrics } from '../../src/worker/worker-metrics';

/** A call's context for one in-process server: metrics and log that record nothing unless given. */
function callContext(overrides: Partial<ServiceCallContext>): ServiceCallContext {
  return {
    service: 'svc',
    pending: new PendingReplies<ServiceResponse>(),
    workerId: 1,
    requestTimeout: 1000,
    maxBodyBytes: 1024,
    idleTimeout: 1000,
    metrics: { httpRequest: () => undefined } as unknown as WorkerMetrics,
    log: { warn: () => undefined } as unknown as Logger,
    send: () => 'sent',
    overBudget: () => undefined,
    ...overrides,
  };
}

/** Writing a service's answer: an in-process node:http server whose every request is answered with the next reply given. */
describe('ServiceCall writes a service answer', () => {
  let server: http.Server;
  let port: number;
  let next: Omit<ServiceResponse, 'type' | 'rid'>;
  const counted: number[] = [];
  const warned: unknown[] = [];
  const context = callContext({
    metrics: { httpRequest: (_service: string, status: number) => counted.push(status) } as unknown as WorkerMetrics,
    log: { warn: (fields: unknown) => warned.push(fields) } as unknown as Logger,
  });

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      new ServiceCall(context, request, response, '/', {}).onReply({ type: 'response', rid: '1.1', ...next });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    counted.length = 0;
    warned.length = 0;
  });

  async function answer(reply: Omit<ServiceResponse, 'type' | 'rid'>): Promise<Response> {
    next = reply;
    return fetch(`http://127.0.0.1:${port}/`);
  }

  test('one header (the usual content type) and the length', async () => {
    const response = await answer({ status: 201, headers: { 'content-type': 'text/plain; charset=utf-8' }, data: 'héllo' });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('content-length')).toBe('6');
    expect(await response.text()).toBe('héllo');
    expect(counted).toEqual([201]);
  });

  test('a header value that would inject another header is a 502, with none of the answer sent', async () => {
    const one = await answer({ status: 200, headers: { 'content-type': 'a\r\nInjected: 1' }, data: 'x' });
    expect(one.status).toBe(502);
    expect(one.headers.get('injected')).toBeNull();
    await one.text();
    const two = await answer({ status: 200, headers: { 'x-bad': 'a\r\nInjected: 1', 'content-type': 'text/plain' }, data: 'x' });
    expect(two.status).toBe(502);
    expect(two.headers.get('injected')).toBeNull();
    await two.text();
    expect(counted).toEqual([502, 502]);
    expect(warned).toHaveLength(2);
  });

  test("connection headers are the worker's; names that differ only in case keep the last value; 204 has no length", async () => {
    const hop = await answer({ status: 200, headers: { Connection: 'close' }, data: 'x' });
    expect(hop.headers.get('connection')).toBe('keep-alive');
    expect(await hop.text()).toBe('x');
    const twice = await answer({ status: 200, headers: { 'X-A': '1', 'x-a': '2' }, data: 'x' });
    expect(twice.headers.get('x-a')).toBe('2');
    await twice.text();
    const empty = await answer({ status: 204, headers: {}, data: '' });
    expect(empty.status).toBe(204);
    expect(empty.headers.get('content-length')).toBeNull();
    expect(counted).toEqual([200, 200, 204]);
  });
});

test('the request on the link carries every header as a string: repeated ones joined, set-cookie too', async () => {
  const sent: Array<Record<string, string>> = [];
  const context = callContext({
    // Refused, so that the call answers 503 at once and nothing waits.
    send: (_service, fields) => (sent.push({ ...fields.headers }), 'unavailable'),
  });
  const server = http.createServer((request, response) => {
    request.resume();
    new ServiceCall(context, request, response, '/', {}).bodyDone({ kind: 'complete', body: Buffer.from('x') }, undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const ask = (head: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.end(`${head}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    expect(await ask('POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2')).toMatch(/^HTTP\/1.1 503/);
    expect(await ask('POST / HTTP/1.1\r\nHost: h\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2')).toMatch(/^HTTP\/1.1 503/);
    expect(sent).toEqual([
      { host: 'h', 'x-a': '1, 2', 'content-length': '1', connection: 'close' },
      { host: 'h', 'set-cookie': 'a=1, b=2', 'content-length': '1', connection: 'close' },
    ]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

import * as path from 'node:path';
import { MESSAGE_OVERHEAD } from '../../src/protocol';
import { closeAll, connect, startCluster, FIXTURES } from '../helpers/cluster';

afterEach(closeAll);

const services = { req: path.join(FIXTURES, 'requests.ts'), echo: path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts') };

describe('HTTP requests to services', () => {
  test('POST /services/<name> reaches onRequest with method, path, query, headers and body', async () => {
    const { port } = await startCluster({ services });
    const response = await fetch(`http://127.0.0.1:${port}/services/req/items/7?x=1`, { method: 'PUT', body: 'hello', headers: { 'x-token': 'abc' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ transport: 'http', method: 'PUT', path: '/items/7', query: { x: '1' }, body: 'hello', client: null });
    const echo = await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body: 'hello' });
    expect(echo.status).toBe(200);
    expect(echo.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await echo.text()).toBe('hello');
  });

  test('each status: reply(), RequestError, a failing handler, an invalid response, binary, 404, 413, 504', async () => {
    const { port } = await startCluster({ services, requestTimeout: 300, maxRequestBody: 1024 });
    const url = (p: string): string => `http://127.0.0.1:${port}/services/${p}`;
    const created = await fetch(url('req/status'));
    expect(created.status).toBe(201);
    expect(created.headers.get('x-test')).toBe('yes');
    expect(await created.json()).toEqual({ created: true });
    const bad = await fetch(url('req/bad'));
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ error: 'bad-input', message: 'that will not do' });
    const failed = await fetch(url('req/fail'));
    expect(failed.status).toBe(500);
    const failure = await failed.text();
    expect(failure).toContain('SY_ERR_HANDLER_FAILED');
    expect(failure).not.toContain('secret internals');
    const invalid = await fetch(url('req/invalid-header'));
    expect(invalid.status).toBe(502);
    expect(invalid.headers.get('injected')).toBeNull();
    await invalid.text();
    const binary = await fetch(url('req/binary'));
    expect(binary.headers.get('content-type')).toBe('application/octet-stream');
    expect([...new Uint8Array(await binary.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    const missing = await fetch(url('nope'), { method: 'POST', body: 'x' });
    expect(missing.status).toBe(404);
    await missing.text();
    const tooBig = await fetch(url('echo'), { method: 'POST', body: 'x'.repeat(2048) });
    expect(tooBig.status).toBe(413);
    await tooBig.text();
    const slow = await fetch(url('req/slow'));
    expect(slow.status).toBe(504);
    await slow.text();
    // The cluster keeps serving after every one of those.
    const ok = await fetch(url('echo'), { method: 'POST', body: 'still fine' });
    expect(await ok.text()).toBe('still fine');
  });

  test('a service that is down answers 503 with Retry-After; /healthz turns 503 and back', async () => {
    // The restart waits 3 s: time for the checks of the down state below, even on a loaded machine.
    const { server, port } = await startCluster({ services, restartDelay: 3000, maxRestartDelay: 3000 });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const healthy = (await health.json()) as { status: string; processes: Array<{ kind: string; state: string; restarts?: number; uptimeMs: number }> };
    expect(healthy.status).toBe('ok');
    expect(healthy.processes.map((p) => p.kind).sort()).toEqual(['master', 'service', 'service', 'worker', 'worker']);
    const exited = new Promise<void>((resolve) => server.once('serviceExit', () => resolve()));
    // Listened for before the kill: on a loaded machine the restart may come before the checks below are done.
    const online = new Promise<void>((resolve) => server.once('serviceOnline', () => resolve()));
    process.kill(server.stats().services.find((s) => s.name === 'echo')?.pid as number, 'SIGKILL');
    await exited;
    const down = await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body: 'x' });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(await down.json()).toMatchObject({ error: 'SY_ERR_SERVICE_UNAVAILABLE' });
    const degraded = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(degraded.status).toBe(503);
    const body = (await degraded.json()) as { status: string; processes: Array<{ kind: string; name?: string; state: string; restarts?: number }> };
    expect(body.status).toBe('degraded');
    expect(body.processes.find((p) => p.name === 'echo')).toMatchObject({ state: 'restarting', restarts: 1 });
    // Once restarted, healthy again.
    await online;
    const again = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(again.status).toBe(200);
    await again.text();
    const back = await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body: 'back' });
    expect(await back.text()).toBe('back');
  });

  test('endpoints can be moved or turned off', async () => {
    const { port } = await startCluster({ services, healthPath: '/ops/health', metricsPath: false });
    expect((await fetch(`http://127.0.0.1:${port}/ops/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
  });
});

describe('the WebSocket request envelope', () => {
  test('one reply per request id, typed errors, plain messages untouched', async () => {
    const { port } = await startCluster({ services, requestTimeout: 300 });
    const client = await connect(port, '/req?room=1');
    const welcome = await client.json<{ id: string }>((m) => m.type === 'welcome');
    client.sendJson({ $req: 1, data: { path: '/echo', n: 5 } });
    client.sendJson({ $req: 'b', data: { path: '/bad' } });
    client.sendJson({ $req: 3, data: { path: '/fail' } });
    client.sendJson({ $req: 4, data: { path: '/slow' } });
    client.socket.send('{"$req": oops');
    client.socket.send('just text');
    const first = await client.json<{ data: Record<string, unknown> }>((m) => m.$res === 1);
    expect(first.data).toEqual({ transport: 'websocket', method: 'MESSAGE', path: '/req', query: { room: '1' }, body: { path: '/echo', n: 5 }, client: welcome.id });
    expect(await client.json((m) => m.$res === 'b')).toEqual({ $res: 'b', error: { code: 'bad-input', message: 'that will not do' } });
    expect(await client.json((m) => m.$res === 3)).toEqual({ $res: 3, error: { code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' } });
    expect(await client.json((m) => m.$res === 4)).toMatchObject({ $res: 4, error: { code: 'SY_ERR_REQUEST_TIMEOUT' } });
    expect(await client.json((m) => m.$res === null)).toMatchObject({ error: { code: 'SY_ERR_BAD_REQUEST' } });
    expect(await client.json((m) => m.type === 'plain')).toEqual({ type: 'plain', text: 'just text' });
    // Exactly one reply each, even for the request that timed out and then finished.
    await client.json((m) => m.type === 'plain');
    const replies = client.messages.filter((m) => typeof m === 'string' && m.startsWith('{"$res"'));
    expect(replies).toHaveLength(5);
  });

  test('a result whose reply is longer than a message may be is answered with an error, not silence', async () => {
    // The timeout is short so that, were the reply lost, not even a timeout would explain the silence.
    const { port } = await startCluster({ services, requestTimeout: 1000 });
    const client = await connect(port, '/req');
    client.sendJson({ $req: 'huge', data: { path: '/huge' } });
    expect(await client.json((m) => m.$res === 'huge', 5000)).toEqual({ $res: 'huge', error: { code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' } });
    // The client and its lane are fine: the next request is answered.
    client.sendJson({ $req: 'next', data: { path: '/echo' } });
    expect(await client.json((m) => m.$res === 'next')).toMatchObject({ $res: 'next', data: { path: '/req' } });
  });

  test('a reply larger than a link queue may ever hold (ipcMaxQueuedBytes) is answered with an error, not silence', async () => {
    const bound = 64 * 1024;
    const { port } = await startCluster({ services, requestTimeout: 1000, ipcMaxQueuedBytes: bound });
    const client = await connect(port, '/req');
    // The queue charges a message its length plus MESSAGE_OVERHEAD: `limit` characters fill an empty queue
    // exactly (both ids are 3 characters); the exact boundary is unit-tested in envelope-answer.test.ts. Here
    // the queue is shared with acks that may still wait for a write, so the reply that must arrive leaves them room.
    const limit = bound - MESSAGE_OVERHEAD - '{"$res":"fit","data":""}'.length;
    const fits = limit - 4096;
    client.sendJson({ $req: 'fit', data: { path: '/long', length: fits } });
    const fit = await client.json<{ data: unknown }>((m) => m.$res === 'fit', 5000);
    expect(fit.data === 'x'.repeat(fits)).toBe(true);
    client.sendJson({ $req: 'big', data: { path: '/long', length: limit + 1 } });
    const big = await client.json<{ data?: unknown; error?: unknown }>((m) => m.$res === 'big', 5000);
    expect(big.data).toBeUndefined();
    expect(big.error).toEqual({ code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' });
  });

  test('a service without onRequest answers SY_ERR_NOT_IMPLEMENTED; over HTTP 501', async () => {
    const { port } = await startCluster({ services: { rec: path.join(FIXTURES, 'recorder.ts') } });
    const client = await connect(port, '/rec');
    client.sendJson({ $req: 9, data: null });
    expect(await client.json((m) => m.$res === 9)).toMatchObject({ error: { code: 'SY_ERR_NOT_IMPLEMENTED' } });
    const response = await fetch(`http://127.0.0.1:${port}/services/rec`);
    expect(response.status).toBe(501);
    await response.text();
  });
});

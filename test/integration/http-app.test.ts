/**
 * The user's own HTTP app (option `http`) on the workers' port, with real
 * clusters: Express and Fastify routes answer beside `/chat`, Switchyard's
 * own routes keep precedence, a route that publishes reaches WebSocket
 * subscribers on both workers, a route calls a service's onRequest, and an
 * app that throws, rejects or hangs is answered without a worker crash.
 */
import * as path from 'node:path';
import { bundledServices } from '../../src/options';
import { closeAll, closeClients, connect, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';

const APP = path.join(FIXTURES, 'app');
const req = path.join(FIXTURES, 'requests.ts');

afterAll(closeAll);

describe('an Express app beside the chat', () => {
  let port = 0;
  beforeAll(async () => {
    const chat = bundledServices().chat.replace(/\.js$/, '.ts');
    ({ port } = await startCluster({ services: { chat, req }, http: path.join(APP, 'express-app.ts') }));
  });
  afterEach(closeClients);

  test('its routes answer on the same port; Switchyard’s own routes, the demo page and WebSocket paths come first', async () => {
    const hello = await fetch(`http://127.0.0.1:${port}/api/hello`);
    expect(hello.status).toBe(200);
    expect(await hello.json()).toMatchObject({ hello: 'world' });
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const chatOverHttp = await fetch(`http://127.0.0.1:${port}/chat`);
    expect(chatOverHttp.status).toBe(426);
    await chatOverHttp.text();
    const service = await fetch(`http://127.0.0.1:${port}/services/req/x`, { method: 'POST', body: 'hi' });
    expect(await service.json()).toMatchObject({ transport: 'http', path: '/x', body: 'hi' });
    // Express's own 404 for what neither Switchyard nor the app knows.
    const unknown = await fetch(`http://127.0.0.1:${port}/no/such/route`);
    expect(unknown.status).toBe(404);
    await unknown.text();
    const chat = await connect(port, '/chat');
    chat.sendJson({ type: 'hello', name: 'ann' });
    await chat.json((m) => m.type === 'welcome');
  });

  test('a route that publishes reaches the topic’s WebSocket subscribers on both workers', async () => {
    const clients: TestClient[] = [];
    const workers = new Set<string>();
    for (let i = 0; i < 8 && (workers.size < 2 || clients.length < 4); i++) {
      const client = await connect(port, '/req');
      const welcome = await client.json<{ id: string }>((m) => m.type === 'welcome');
      workers.add(welcome.id.split('.')[0] as string);
      clients.push(client);
    }
    expect(workers.size).toBe(2);
    for (const client of clients) {
      client.socket.send('sub:news');
      await client.json((m) => m.type === 'subscribed');
    }
    const response = await fetch(`http://127.0.0.1:${port}/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'news', text: 'breaking' }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ reached: clients.length });
    for (const client of clients) await client.received(3);
    for (const client of clients) expect(client.messages[2]).toBe('breaking');
    // A topic nobody subscribed reaches no one (and no worker).
    const empty = await fetch(`http://127.0.0.1:${port}/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'nobody', text: 'x' }) });
    expect(await empty.json()).toMatchObject({ reached: 0 });
  });

  test('a route calls a service’s onRequest; an unknown service is a typed error', async () => {
    const call = await fetch(`http://127.0.0.1:${port}/call`);
    expect(call.status).toBe(200);
    expect(await call.json()).toEqual({ status: 200, body: { transport: 'http', method: 'PUT', path: '/from-app', query: { x: '1' }, body: 'app body', client: null } });
    expect(await (await fetch(`http://127.0.0.1:${port}/call-missing`)).json()).toEqual({ code: 'SY_ERR_INVALID_ARGUMENT' });
  });

  test('a route that throws is the app’s own 500; the worker serves on', async () => {
    const boom = await fetch(`http://127.0.0.1:${port}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: 'app error' });
    expect((await fetch(`http://127.0.0.1:${port}/api/hello`)).status).toBe(200);
  });
});

describe('other apps', () => {
  afterEach(closeAll);

  test('a Fastify app through routing(req, res)', async () => {
    const { port } = await startCluster({ services: { req }, workers: 1, http: path.join(APP, 'fastify-app.ts') });
    const hello = await fetch(`http://127.0.0.1:${port}/fastify/hello`);
    expect(hello.status).toBe(200);
    expect(await hello.json()).toEqual({ from: 'fastify' });
    const service = await fetch(`http://127.0.0.1:${port}/services/req/y`);
    expect(await service.json()).toMatchObject({ path: '/y' });
  });

  test('an app that throws or rejects gets 500 without internals, one that fails half way is cut, one that hangs 504; no worker dies', async () => {
    const { server, port } = await startCluster({ services: { req }, workers: 1, requestTimeout: 500, http: path.join(APP, 'throwing-app.ts') });
    const pids = server.stats().workers.map((worker) => worker.pid);
    for (const route of ['/sync', '/async']) {
      const response = await fetch(`http://127.0.0.1:${port}${route}`);
      expect(response.status).toBe(500);
      const body = await response.text();
      expect(body).not.toContain('secret');
    }
    // Its head may or may not have left before the cut: either way the client sees a failed response, never a complete one.
    await expect(fetch(`http://127.0.0.1:${port}/half`).then((response) => response.text())).rejects.toThrow();
    const started = Date.now();
    const hang = await fetch(`http://127.0.0.1:${port}/hang`);
    expect(hang.status).toBe(504);
    await hang.text();
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(await (await fetch(`http://127.0.0.1:${port}/ok`)).text()).toBe('ok');
    expect(server.stats().workers.map((worker) => worker.pid)).toEqual(pids);
  });
});

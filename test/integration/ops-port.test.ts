/**
 * opsPort with a real cluster: the master serves /healthz, /readyz and
 * /metrics on the ops address, the public port no longer does, and services
 * are unchanged; an ops port that is taken fails the start.
 */
import * as net from 'node:net';
import { closeAll, startCluster } from '../helpers/cluster';
import { parsePrometheus } from '../helpers/prometheus';
import { createServer } from '../../src/master/server';

afterEach(closeAll);

test('the ops endpoints answer on the ops port only; the public port serves the services and 404s them', async () => {
  let readyInfo: unknown;
  const { server, port } = await startCluster({ opsPort: 0, services: { echo: require.resolve('../../src/services/examples/echo') } }, (s) => s.once('ready', (info) => (readyInfo = info)));
  const ops = server.opsPort;
  expect(ops).toBeGreaterThan(0);
  expect(ops).not.toBe(port);
  const health = await fetch(`http://127.0.0.1:${ops}/healthz`);
  expect(health.status).toBe(200);
  expect(((await health.json()) as { status: string }).status).toBe('ok');
  expect(readyInfo).toMatchObject({ port, ops: { host: '127.0.0.1', port: ops } });
  // Ready once every worker has reported its links up: asked until it says so.
  const deadline = Date.now() + 5000;
  while ((await fetch(`http://127.0.0.1:${ops}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('/readyz on the ops port never answered 200');
  }
  const scrape = await fetch(`http://127.0.0.1:${ops}/metrics`);
  expect(scrape.status).toBe(200);
  expect(parsePrometheus(await scrape.text()).some((sample) => sample.name.startsWith('switchyard_'))).toBe(true);
  expect((await fetch(`http://127.0.0.1:${ops}/healthz`, { method: 'HEAD' })).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${ops}/healthz`, { method: 'POST' })).status).toBe(405);
  expect((await fetch(`http://127.0.0.1:${ops}/services/echo`, { method: 'POST', body: 'x' })).status).toBe(404);
  for (const route of ['/healthz', '/readyz', '/metrics']) expect([route, (await fetch(`http://127.0.0.1:${port}${route}`)).status]).toEqual([route, 404]);
  const echo = await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body: 'hello' });
  expect([echo.status, await echo.text()]).toEqual([200, 'hello']);
});

test('an ops port that is taken fails the start with SY_ERR_ADDRESS_IN_USE naming it', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as net.AddressInfo).port;
  try {
    const server = createServer({ port: 0, host: '127.0.0.1', workers: 1, logLevel: 'silent', opsPort: taken });
    await expect(server.listen()).rejects.toMatchObject({ code: 'SY_ERR_ADDRESS_IN_USE', message: expect.stringContaining(`ops endpoints on 127.0.0.1:${taken}`) });
    expect(server.state).toBe('closed');
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

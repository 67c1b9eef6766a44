/**
 * corsOrigins with a real cluster and real cross-origin requests (Node's
 * fetch sending an Origin, as a browser does): the worker answers the
 * preflight, the service's answer carries the CORS headers for an allowed
 * origin only, and without the option no CORS header is sent at all.
 */
import { closeAll, startCluster } from '../helpers/cluster';

afterEach(closeAll);

const APP = 'https://app.example.com';
const echo = { echo: require.resolve('../../src/services/examples/echo') };

test('a preflight from an allowed origin is answered by the worker; the cross-origin request gets the CORS headers, another origin none', async () => {
  const { port } = await startCluster({ services: echo, workers: 1, corsOrigins: [APP] });
  const url = `http://127.0.0.1:${port}/services/echo`;
  const preflight = await fetch(url, { method: 'OPTIONS', headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-token' } });
  expect(preflight.status).toBe(204);
  expect(Object.fromEntries([...preflight.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'))).toEqual({
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
    'access-control-allow-headers': 'content-type, x-token',
    'access-control-max-age': '600',
    vary: 'Origin',
  });
  const call = await fetch(url, { method: 'POST', headers: { Origin: APP, 'Content-Type': 'text/plain' }, body: 'cross-origin hello' });
  expect([call.status, await call.text()]).toEqual([200, 'cross-origin hello']);
  expect(call.headers.get('access-control-allow-origin')).toBe(APP);
  const evilPreflight = await fetch(url, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
  expect(evilPreflight.status).toBe(403);
  expect(evilPreflight.headers.get('access-control-allow-origin')).toBeNull();
  // The server does not refuse the request itself (only browsers enforce CORS): it just does not allow the page to read it.
  const evil = await fetch(url, { method: 'POST', headers: { Origin: 'https://evil.example' }, body: 'x' });
  expect(evil.status).toBe(200);
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
});

test('without corsOrigins no CORS header is sent and an OPTIONS request reaches the service as before', async () => {
  const { port } = await startCluster({ services: echo, workers: 1 });
  const url = `http://127.0.0.1:${port}/services/echo`;
  const call = await fetch(url, { method: 'POST', headers: { Origin: APP }, body: 'hello' });
  expect(call.status).toBe(200);
  const preflight = await fetch(url, { method: 'OPTIONS', headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' } });
  for (const response of [call, preflight]) expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
  // The echo service answers every method itself: the preflight was not taken by the worker.
  expect(preflight.status).toBe(200);
});

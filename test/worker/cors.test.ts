import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CorsPolicy } from '../../src/worker/cors';

/** A plain node:http server whose handler is the policy, then 200 "service" for what it lets through. */
async function serve(policy: CorsPolicy): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    if (policy.handle(request, response)) return;
    response.end('service');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/x`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

test("'*' allows every origin without credentials and no Vary", async () => {
  const server = await serve(new CorsPolicy('*'));
  try {
    const preflight = await fetch(server.url, { method: 'OPTIONS', headers: { Origin: 'https://any.example', 'Access-Control-Request-Method': 'PUT' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    expect(preflight.headers.get('vary')).toBeNull();
    const call = await fetch(server.url, { headers: { Origin: 'https://any.example' } });
    expect([await call.text(), call.headers.get('access-control-allow-origin')]).toEqual(['service', '*']);
  } finally {
    await server.close();
  }
});

test('a request without Origin gets no CORS header; request headers that are not a header list are not echoed', async () => {
  const server = await serve(new CorsPolicy(['https://app.example']));
  try {
    const plain = await fetch(server.url);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    // OPTIONS without Access-Control-Request-Method is not a preflight: it reaches the service.
    expect(await (await fetch(server.url, { method: 'OPTIONS', headers: { Origin: 'https://app.example' } })).text()).toBe('service');
    const odd = await fetch(server.url, { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'a b' } });
    expect(odd.status).toBe(204);
    expect(odd.headers.get('access-control-allow-headers')).toBeNull();
  } finally {
    await server.close();
  }
});

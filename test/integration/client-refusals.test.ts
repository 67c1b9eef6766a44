/**
 * The Node client (over `ws`, which shows it the HTTP status of a refused
 * upgrade) against a real cluster's upgrade checks: a 403 (origin not
 * allowed) is final and reported with its status; a 429 (too many
 * connections from one address) backs off by its Retry-After, and the
 * client gets in once there is room.
 */
import WebSocket from 'ws';
import { connect as connectWith, type ClientOptions, type GaveUpError, type ReconnectingInfo, type SwitchyardClient } from '../../src/client';
import { closeAll, startCluster } from '../helpers/cluster';

let clients: SwitchyardClient[] = [];

/** Over `ws` on every Node: Node 22+'s global WebSocket, like a browser's, shows no status of a refused upgrade (docs/client.md). */
function connect(url: string, options: ClientOptions = {}): SwitchyardClient {
  return connectWith(url, { WebSocket: WebSocket as unknown as NonNullable<ClientOptions['WebSocket']>, ...options });
}

afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await closeAll();
});

function track(client: SwitchyardClient): SwitchyardClient {
  clients.push(client);
  return client;
}

function next<E extends 'open' | 'error' | 'reconnecting'>(client: SwitchyardClient, event: E, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    function onEvent(value: unknown): void {
      clearTimeout(timer);
      client.off(event, onEvent);
      resolve(value);
    }
    client.on(event, onEvent);
  });
}

test('403 on the upgrade: final, reported with the status, and the client stops', async () => {
  const { port } = await startCluster({ workers: 1, allowedOrigins: ['https://app.example'] });
  const client = track(connect(`ws://127.0.0.1:${port}/echo`));
  const error = (await next(client, 'error')) as GaveUpError;
  expect(error).toMatchObject({ code: 'SY_CLIENT_GAVE_UP', status: 403 });
  expect(client.state).toBe('closed');
});

test('429 with Retry-After: backs off at least that long, then gets in when there is room', async () => {
  const { port } = await startCluster({ workers: 1, maxConnectionsPerIp: 1 });
  const first = track(connect(`ws://127.0.0.1:${port}/echo`));
  await next(first, 'open');
  const second = track(connect(`ws://127.0.0.1:${port}/echo`, { busyDelay: 200 }));
  const info = (await next(second, 'reconnecting')) as ReconnectingInfo;
  expect(info.status).toBe(429);
  // Retry-After: 1 (s), plus at least half the first busy ceiling.
  expect(info.delay).toBeGreaterThanOrEqual(1100);
  first.close();
  await next(second, 'open');
  expect(second.state).toBe('open');
  await expect(second.request('hi')).resolves.toBe('hi');
});

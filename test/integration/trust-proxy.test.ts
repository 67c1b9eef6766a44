/**
 * trustProxy with real processes and real clients (from 127.0.0.1, playing
 * the proxy): the forwarded address reaches the service, a forged header
 * from an untrusted peer is ignored, and the per-address limits count the
 * forwarded addresses. And the default path never loads proxy-addr.
 */
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { closeAll, connect, FIXTURES, startCluster, type TestClient } from '../helpers/cluster';

afterEach(closeAll);

const recorder = { recorder: path.join(FIXTURES, 'recorder.ts') };

async function welcomedAddress(port: number, forwarded: Record<string, string>): Promise<string> {
  const client = await connect(port, '/recorder', { headers: forwarded });
  const welcome = await client.json<{ remoteAddress: string }>((m) => m.type === 'welcome');
  client.socket.close();
  return welcome.remoteAddress;
}

test('through a trusted proxy the service sees the client address of the forwarded chain', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1, trustProxy: ['loopback', '10.0.0.0/8'] });
  // The client said 198.51.100.7 itself; 10.0.0.2 (trusted) saw 203.0.113.9; the loopback peer (trusted) saw 10.0.0.2.
  expect(await welcomedAddress(port, { 'X-Forwarded-For': '198.51.100.7, 203.0.113.9, 10.0.0.2' })).toBe('203.0.113.9');
  expect(await welcomedAddress(port, {})).toBe('127.0.0.1');
});

test('a forged header from a peer that is not a trusted proxy is ignored', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1, trustProxy: '192.0.2.1' });
  expect(await welcomedAddress(port, { 'X-Forwarded-For': '203.0.113.9' })).toBe('127.0.0.1');
});

test('without trustProxy no forwarded header is read', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1 });
  expect(await welcomedAddress(port, { 'X-Forwarded-For': '203.0.113.9', Forwarded: 'for=203.0.113.9' })).toBe('127.0.0.1');
});

test('with forwardedHeader "forwarded" the RFC 7239 header is read, and X-Forwarded-For is not', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1, trustProxy: 'loopback', forwardedHeader: 'forwarded' });
  expect(await welcomedAddress(port, { Forwarded: 'for="[2001:db8::17]:4711";proto=https', 'X-Forwarded-For': '203.0.113.9' })).toBe('2001:db8::17');
});

function rejectedStatus(port: number, headers: Record<string, string>): Promise<number> {
  return connect(port, '/recorder', { headers }).then(
    () => 0,
    (error: Error) => Number(/HTTP (\d+)/.exec(error.message)?.[1] ?? -1),
  );
}

test('maxConnectionsPerIp counts the forwarded addresses, not the proxy', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1, trustProxy: 'loopback', maxConnectionsPerIp: 1 });
  const first: TestClient = await connect(port, '/recorder', { headers: { 'X-Forwarded-For': '198.51.100.1' } });
  expect(await rejectedStatus(port, { 'X-Forwarded-For': '198.51.100.1' })).toBe(429);
  // Another client behind the same proxy has a slot of its own.
  const other = await connect(port, '/recorder', { headers: { 'X-Forwarded-For': '198.51.100.2' } });
  expect(other.socket.readyState).toBe(other.socket.OPEN);
  first.socket.close();
  await first.closed;
});

function get(port: number, agent: http.Agent, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent, headers: { 'X-Forwarded-For': forwardedFor } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
}

test('maxHttpConnectionsPerIp counts plain HTTP connections by the forwarded address of their first request', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1, trustProxy: 'loopback', maxHttpConnectionsPerIp: 1 });
  // One keep-alive connection each: the first holds 198.51.100.1's only slot while it stays open.
  const agents = [0, 1, 2].map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    expect(await get(port, agents[0] as http.Agent, '198.51.100.1')).toBe(200);
    expect(await get(port, agents[1] as http.Agent, '198.51.100.1')).toBe(429);
    expect(await get(port, agents[2] as http.Agent, '198.51.100.2')).toBe(200);
  } finally {
    for (const agent of agents) agent.destroy();
  }
});

test('a worker with the default options never loads proxy-addr; one with trustProxy does', () => {
  // A process of its own (jest's module registry is not node's): the worker module and all it imports, as a worker loads them.
  const script = [
    "require('./src/worker/worker-server');",
    "const { addressResolver } = require('./src/worker/client-address');",
    "const loaded = () => Object.keys(require.cache).filter((file) => file.endsWith('/node_modules/proxy-addr/index.js')).length;",
    "addressResolver(null, 'x-forwarded-for');",
    'const before = loaded();',
    "addressResolver(['loopback'], 'x-forwarded-for');",
    'process.stdout.write(JSON.stringify([before, loaded()]));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual([0, 1]);
});

import { spawn, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import WebSocket from 'ws';
import { closeAll, connect, eventually, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';
import { checkDelivery, readLedger, useLedger } from '../helpers/ledger';

const ledgerFile = useLedger(closeAll);

const LEDGER = path.join(FIXTURES, 'ledger.ts');

async function welcomed(port: number, route: string): Promise<{ client: TestClient; id: string }> {
  const client = await connect(port, route);
  const { id } = await client.json<{ id: string }>((m) => m.type === 'welcome');
  return { client, id };
}

test('SIGKILL a service mid-stream: every accepted message is handled, in order per client, repeats only where marked', async () => {
  const { server, port } = await startCluster({ services: { ledger: LEDGER }, restartDelay: 50 });
  const clients = await Promise.all([welcomed(port, '/ledger'), welcomed(port, '/ledger'), welcomed(port, '/ledger')]);
  const count = 300;
  const numbers = Array.from({ length: count }, (_, i) => String(i + 1));
  for (const { client } of clients) {
    for (const n of numbers) client.socket.send(n);
    client.socket.send('last');
  }
  await clients[0]?.client.json((m) => m.type === 'progress' && m.n === 50);
  const restarted = new Promise<{ restarted: boolean }>((resolve) => server.once('serviceOnline', resolve));
  const before = server.stats().services[0];
  expect(before?.heldMessages).toBeGreaterThan(0);
  process.kill(before?.pid as number, 'SIGKILL');
  expect((await restarted).restarted).toBe(true);
  await Promise.all(clients.map(({ client }) => client.json((m) => m.type === 'done', 20000)));
  const entries = readLedger(ledgerFile());
  for (const { id } of clients) expect(checkDelivery(entries, id, [...numbers, 'last'])).toBeUndefined();
  // Messages in flight at the kill were redelivered, and marked.
  expect(entries.some((entry) => entry.redelivered)).toBe(true);
  // Clients stayed connected throughout; the new instance resumed them.
  for (const { client } of clients) expect(client.socket.readyState).toBe(WebSocket.OPEN);
}, 40000);

test('a crash loop marks the service failed: its clients get 1011, health says failed, nothing restarts it', async () => {
  const { server, port } = await startCluster({ services: { ledger: LEDGER }, restartDelay: 10, crashLoopCount: 2, crashLoopWindow: 60000 });
  const { client } = await welcomed(port, '/ledger');
  const failed = new Promise<{ clients: number }>((resolve) => server.once('serviceFailed', resolve));
  // A poison message: redelivered after the first crash, it crashes the next instance too.
  client.socket.send('crash');
  expect(await failed).toEqual({ service: 'ledger', instance: 0, clients: 1 });
  expect(await client.closed).toBe(1011);
  expect(client.closeReason).toBe('service failed');
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(health.status).toBe(503);
  const body = (await health.json()) as { processes: Array<{ name?: string; state: string; restarts?: number }> };
  expect(body.processes.find((p) => p.name === 'ledger')).toMatchObject({ state: 'failed', restarts: 1 });
  // New clients of the failed service are closed with 1011 too.
  const late = await connect(port, '/ledger');
  expect(await late.closed).toBe(1011);
});

test('close(): clients get 1001, services hear onClose for each before onStop, a stuck process is SIGKILLed at the deadline', async () => {
  const { server, port } = await startCluster({ services: { ledger: LEDGER, stuck: path.join(FIXTURES, 'stuck-stop.ts') }, stopTimeout: 1500 });
  const a = await welcomed(port, '/ledger');
  const b = await welcomed(port, '/ledger');
  const exits: Array<{ service: string; signal: string | null; code: number | null }> = [];
  server.on('serviceExit', (info) => exits.push({ service: info.service, signal: info.signal, code: info.code }));
  const started = Date.now();
  await server.close();
  expect(Date.now() - started).toBeLessThan(1500 + 1000);
  expect(await a.client.closed).toBe(1001);
  expect(await b.client.closed).toBe(1001);
  const lines = readLedger(ledgerFile()).map((e) => `${e.client} ${e.data}`);
  expect(lines.slice(0, 2).sort()).toEqual([`${a.id} close`, `${b.id} close`].sort());
  expect(lines[2]).toBe('- stop');
  expect(exits.find((e) => e.service === 'stuck')).toMatchObject({ signal: 'SIGKILL' });
  expect(exits.find((e) => e.service === 'ledger')).toMatchObject({ code: 0, signal: null });
});

test('a service that blocks its event loop: other services unaffected, its own bound applies (1013)', async () => {
  const echo = path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts');
  const { server, port } = await startCluster({ services: { blocker: path.join(FIXTURES, 'blocker.ts'), echo }, ipcMaxQueuedMessages: 50 });
  const quiet = await connect(port, '/blocker');
  const flooder = await connect(port, '/blocker');
  const bystander = await connect(port, '/echo');
  // One connection, so the flood queues up behind the block in order.
  flooder.socket.send('block');
  for (let i = 0; i < 200; i++) flooder.socket.send(`x${i}`);
  bystander.socket.send('still served');
  // The echo service answers while the blocker is stuck.
  expect(await bystander.received(1)).toEqual(['still served']);
  // The flood past the blocked service's bound closes that client, and only it, with 1013.
  expect(await flooder.closed).toBe(1013);
  expect(flooder.messages).not.toContain('unblocked');
  // The bound is per service: until the blocker catches up, any client's message would get 1013 too.
  // Once it has drained, the service serves again (a condition, polled; no event reports it).
  while ((server.stats().services.find((s) => s.name === 'blocker')?.heldMessages ?? 0) > 0) await new Promise((r) => setTimeout(r, 50));
  expect(quiet.socket.readyState).toBe(WebSocket.OPEN);
  quiet.socket.send('after');
  expect(await quiet.received(1)).toEqual(['after']);
  expect(quiet.socket.readyState).toBe(WebSocket.OPEN);
});

test('a service may address only its own clients: anything else is dropped and counted', async () => {
  const { server, port } = await startCluster({ services: { rogue: path.join(FIXTURES, 'rogue.ts'), rec: path.join(FIXTURES, 'recorder.ts') } });
  const victim = await welcomed(port, '/rec');
  const attacker = await connect(port, '/rogue');
  attacker.socket.send(`attack:${victim.id}`);
  const [reply] = await attacker.received(1);
  // One link per worker: the rogue wrote to both, and each worker dropped its 4 foreign addresses.
  expect(reply).toBe('attacked:2');
  await eventually(() => server.stats().routing.foreignAddressDrops === 8);
  // The victim got nothing and is still connected and served.
  victim.client.socket.send('ping');
  await victim.client.received(2);
  expect(victim.client.messages[1]).toBe('ping');
  expect(victim.client.socket.readyState).toBe(WebSocket.OPEN);
});

test('a service cannot answer HTTP requests meant for another service', async () => {
  const { port } = await startCluster({ services: { rogue: path.join(FIXTURES, 'rogue.ts'), requests: path.join(FIXTURES, 'requests.ts') } });
  // Slow requests to the honest service, one per worker (round-robin spreads the connections).
  const pending = [0, 1].map(() => fetch(`http://127.0.0.1:${port}/services/requests/slow`, { method: 'POST', body: 'mine' }).then(async (r) => ({ status: r.status, body: await r.text() })));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const attacker = await connect(port, '/rogue');
  attacker.socket.send('forge');
  expect((await attacker.received(1))[0]).toBe('forged:2');
  for (const answer of await Promise.all(pending)) {
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('late');
  }
});

describe('master death', () => {
  const ROOT = path.join(__dirname, '..', '..');

  function descendants(pid: number): number[] {
    const out = execFileSync('ps', ['-eo', 'pid=,ppid=']).toString();
    const children = new Map<number, number[]>();
    for (const line of out.split('\n')) {
      const [child, parent] = line.trim().split(/\s+/).map(Number);
      if (!child || !parent) continue;
      children.set(parent, [...(children.get(parent) ?? []), child]);
    }
    const found: number[] = [];
    const walk = (p: number): void => {
      for (const c of children.get(p) ?? []) {
        found.push(c);
        walk(c);
      }
    };
    walk(pid);
    return found;
  }

  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  test('SIGKILL the master: no process of the cluster is left after 2 s', async () => {
    const master = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'src', 'cli.ts'), 'start', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--log-level', 'silent'], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      master.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
      master.once('exit', (code) => reject(new Error(`master exited early (${code})`)));
    });
    const cluster = descendants(master.pid as number);
    expect(cluster.length).toBeGreaterThanOrEqual(4);
    const exited = new Promise((resolve) => master.once('exit', resolve));
    master.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 2000;
    while (cluster.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cluster.filter(alive)).toEqual([]);
  });
});

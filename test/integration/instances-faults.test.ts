/**
 * Faults of one instance of a service of several (docs/instances.md): a
 * SIGKILL in the middle of numbered streams loses nothing and touches only
 * that instance's clients; a crash loop fails only that instance; HTTP
 * requests skip an instance that is down. Real clusters: 2 workers, 3 instances.
 */
import * as path from 'node:path';
import { ownerOf } from '../../src/rendezvous';
import { closeAll, connect, eventually, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';

afterEach(closeAll);
// Three TypeScript service processes start per test: on a loaded 2-core machine that alone can take tens of seconds.
jest.setTimeout(120_000);
// The same reason: a start timeout a loaded machine does not reach.
const SLOW_START = 90_000;

const MODULE = path.join(FIXTURES, 'sharded.ts');

interface Reply {
  readonly type: string;
  readonly k: number;
  readonly instance: number;
  readonly redelivered: boolean;
}

/** A room that instance `instance` of 3 owns. */
function roomOf(instance: number, salt = ''): string {
  for (let i = 0; ; i++) if (ownerOf(`q:room${salt}${i}`, 3) === instance) return `room${salt}${i}`;
}

test('SIGKILL one of three instances mid-stream: nothing accepted is lost, order holds per client, duplicates only marked, the other shards see no 1013', async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, restartDelay: 100, services: { shard: { module: MODULE, instances: 3 } } });
  const CLIENTS = 24;
  const COUNT = 120;
  const clients: Array<{ client: TestClient; instance: number; replies: Reply[]; at: number[] }> = [];
  for (let i = 0; i < CLIENTS; i++) {
    const client = await connect(port, '/shard');
    const welcome = await client.json<{ instance: number }>((m) => m.type === 'welcome');
    const entry = { client, instance: welcome.instance, replies: [] as Reply[], at: [] as number[] };
    client.socket.on('message', (data: Buffer) => {
      const reply = JSON.parse(data.toString()) as Reply;
      if (reply.type !== 'n') return;
      entry.replies.push(reply);
      entry.at.push(performance.now());
    });
    clients.push(entry);
  }
  const victim = 1;
  expect(clients.some((c) => c.instance === victim) && clients.some((c) => c.instance !== victim)).toBe(true);
  const victimPid = server.stats().services[victim]?.pid as number;
  const restarted = new Promise<void>((resolve) => server.on('serviceOnline', (info) => info.instance === victim && info.restarted && resolve()));

  // Every client sends 1..COUNT, one every 10 ms; the victim is killed a third of the way through.
  await new Promise<void>((resolve) => {
    let k = 0;
    const timer = setInterval(() => {
      k++;
      for (const c of clients) c.client.socket.send(`n:${k}`);
      if (k === Math.floor(COUNT / 3)) process.kill(victimPid, 'SIGKILL');
      if (k === COUNT) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  await restarted;
  await eventually(() => clients.every((c) => new Set(c.replies.map((r) => r.k)).size === COUNT), 15000);

  let duplicates = 0;
  let worstGapOthers = 0;
  for (const c of clients) {
    // Zero lost, first replies in order, a repeated number only when marked redelivered.
    const seen = new Set<number>();
    const firsts: number[] = [];
    for (const reply of c.replies) {
      expect(reply.instance).toBe(c.instance);
      if (seen.has(reply.k)) {
        expect(reply.redelivered).toBe(true);
        duplicates++;
      } else {
        seen.add(reply.k);
        firsts.push(reply.k);
      }
    }
    expect(firsts).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(c.client.closeCode).toBeUndefined();
    if (c.instance !== victim) for (let i = 1; i < c.at.length; i++) worstGapOthers = Math.max(worstGapOthers, (c.at[i] as number) - (c.at[i - 1] as number));
  }
  // Only the victim's clients saw redeliveries.
  expect(clients.filter((c) => c.instance !== victim).every((c) => c.replies.every((r) => !r.redelivered))).toBe(true);
  expect(server.stats().routing.serviceQueueFull).toBe(0);
  expect(server.stats().services.map((s) => s.restarts)).toEqual([0, 1, 0]);
  // Measured, for the report: how long the other shards' clients waited at worst between two replies.
  process.stdout.write(`instances-faults: ${duplicates} marked duplicates; worst gap between replies for other instances' clients: ${worstGapOthers.toFixed(1)} ms\n`);
});

test("a crash loop fails only that instance: its clients get 1011 and /healthz names it, the other shards serve on", async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, restartDelay: 50, crashLoopCount: 2, services: { shard: { module: MODULE, instances: 3, shardBy: 'query:room' } } });
  const doomed = await connect(port, `/shard?room=${roomOf(0)}`);
  await doomed.json((m) => m.type === 'welcome' && m.instance === 0);
  const neighbour = await connect(port, `/shard?room=${roomOf(0, 'b')}`);
  await neighbour.json((m) => m.type === 'welcome' && m.instance === 0);
  const other = await connect(port, `/shard?room=${roomOf(2)}`);
  await other.json((m) => m.type === 'welcome' && m.instance === 2);
  const failed = new Promise((resolve) => server.once('serviceFailed', resolve));
  doomed.socket.send('crash');
  expect(await failed).toEqual({ service: 'shard', instance: 0, clients: 2 });
  expect(await doomed.closed).toBe(1011);
  expect(await neighbour.closed).toBe(1011);
  // The other shard's client is still served, and new clients of live shards connect.
  other.socket.send('n:1');
  await other.json((m) => m.type === 'n' && m.k === 1);
  const fresh = await connect(port, `/shard?room=${roomOf(1)}`);
  await fresh.json((m) => m.type === 'welcome' && m.instance === 1);
  // A new client of the failed shard is refused with 1011.
  const refused = await connect(port, `/shard?room=${roomOf(0, 'c')}`);
  expect(await refused.closed).toBe(1011);
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { processes: Array<Record<string, unknown>> };
  expect(health.processes.filter((p) => p.kind === 'service').map((p) => [p.instance, p.state])).toEqual([
    [0, 'failed'],
    [1, 'online'],
    [2, 'online'],
  ]);
  expect(other.closeCode).toBeUndefined();
});

test('HTTP requests go by the shard key when they carry it, else round-robin, and skip an instance that is down', async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, restartDelay: 10_000, maxRestartDelay: 10_000, services: { shard: { module: MODULE, instances: 3, shardBy: 'query:room' } } });
  const ask = async (query: string): Promise<{ status: number; instance?: number }> => {
    const response = await fetch(`http://127.0.0.1:${port}/services/shard${query}`);
    if (response.status !== 200) return { status: response.status, ...(await response.text().then(() => ({}))) };
    return { status: 200, instance: ((await response.json()) as { instance: number }).instance };
  };
  for (const instance of [0, 1, 2]) expect(await ask(`?room=${roomOf(instance)}`)).toEqual({ status: 200, instance });
  const spread = new Set<number>();
  for (let i = 0; i < 12; i++) spread.add((await ask('')).instance as number);
  expect(spread).toEqual(new Set([0, 1, 2]));

  // Instance 1 goes down (and stays down for 10 s) while a slow request waits for instance 0: that one is still answered by 0.
  const slow = ask(`?room=${roomOf(0)}&delay=1500`);
  const down = new Promise<void>((resolve) => server.once('serviceExit', () => resolve()));
  process.kill(server.stats().services[1]?.pid as number, 'SIGKILL');
  await down;
  expect(await slow).toEqual({ status: 200, instance: 0 });
  // Requests instance 1 would own go to another, none gets 503.
  // The workers see the link close a moment after the master sees the exit.
  await eventually(() => server.stats().services[1]?.state === 'restarting');
  const deadline = Date.now() + 5000;
  while ((await ask(`?room=${roomOf(1)}`)).instance === 1 && Date.now() < deadline);
  for (let i = 0; i < 9; i++) {
    const answer = await ask(i % 3 === 0 ? `?room=${roomOf(1, String(i))}` : '');
    expect(answer.status).toBe(200);
    expect(answer.instance).not.toBe(1);
  }
});

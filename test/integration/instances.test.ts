/**
 * A service run as several instances (docs/instances.md): one process per
 * instance, each client owned by the instance its shard key maps to, and
 * broadcast/publish reaching every instance's clients with interest routing
 * intact. Real clusters: 2 workers, 3 instances.
 */
import * as path from 'node:path';
import { workerOfClientId } from '../../src/client-id';
import { ownerOf } from '../../src/rendezvous';
import { closeAll, connect, eventually, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';
import { parsePrometheus, total } from '../helpers/prometheus';

afterEach(closeAll);
// Three TypeScript service processes start per test: on a loaded 2-core machine that alone can take tens of seconds.
jest.setTimeout(120_000);
// The same reason: a start timeout a loaded machine does not reach.
const SLOW_START = 90_000;

const MODULE = path.join(FIXTURES, 'sharded.ts');

interface Welcome {
  readonly id: string;
  readonly instance: number;
  readonly instances: number;
  readonly pid: number;
}

async function joined(port: number, query = ''): Promise<{ client: TestClient; welcome: Welcome; worker: number }> {
  const client = await connect(port, `/shard${query}`);
  const welcome = await client.json<Welcome>((m) => m.type === 'welcome');
  return { client, welcome, worker: workerOfClientId(welcome.id) as number };
}

/** The texts a client got by broadcast or publish, in order. */
function texts(client: TestClient): string[] {
  return client.messages.flatMap((m) => {
    const value = JSON.parse(String(m)) as { type: string; text?: string };
    return value.type === 'data' ? [value.text as string] : [];
  });
}

async function ipcPublishes(port: number, worker: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return total(parsePrometheus(await response.text()), 'switchyard_ipc_received_total', { process: `worker-${worker}`, type: 'publish' });
}

test('each instance is a process of its own; a client goes to the instance its shard key maps to, and that instance alone hears it', async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, services: { shard: { module: MODULE, instances: 3, shardBy: 'query:room' } } });
  const stats = server.stats().services;
  expect(stats.map((s) => [s.name, s.instance, s.state])).toEqual([
    ['shard', 0, 'online'],
    ['shard', 1, 'online'],
    ['shard', 2, 'online'],
  ]);
  expect(new Set(stats.map((s) => s.pid)).size).toBe(3);

  // /healthz: each instance a process entry of its own.
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { processes: Array<Record<string, unknown>> };
  expect(health.processes.filter((p) => p.kind === 'service').map((p) => [p.name, p.instance, p.pid, p.state])).toEqual(stats.map((s) => ['shard', s.instance, s.pid, 'online']));

  // Same room, same instance, whichever worker; the instance is the one the hash names.
  const rooms = ['lobby', 'red', 'blue', 'green', 'x', 'y'];
  const seen = new Set<number>();
  const owned = new Map<number, string[]>();
  for (const room of rooms) {
    const first = await joined(port, `?room=${room}`);
    const second = await joined(port, `?room=${room}`);
    expect(second.welcome.instance).toBe(first.welcome.instance);
    expect(first.welcome.instances).toBe(3);
    expect(first.welcome.instance).toBe(ownerOf(`q:${room}`, 3));
    expect(first.welcome.pid).toBe(stats[first.welcome.instance]?.pid);
    seen.add(first.welcome.instance);
    for (const c of [first, second]) owned.set(c.welcome.instance, [...(owned.get(c.welcome.instance) ?? []), c.welcome.id]);
  }
  expect(seen.size).toBeGreaterThan(1);
  // A client without the key goes by its id.
  const loose = await joined(port);
  expect(loose.welcome.instance).toBe(ownerOf(`c:${loose.welcome.id}`, 3));
  owned.set(loose.welcome.instance, [...(owned.get(loose.welcome.instance) ?? []), loose.welcome.id]);

  // this.clients is the instance's own clients.
  loose.client.socket.send('who');
  const who = await loose.client.json<{ clients: string[] }>((m) => m.type === 'who');
  expect(new Set(who.clients)).toEqual(new Set(owned.get(loose.welcome.instance)));

  // The workers report clients and held messages per instance: stats add up.
  await eventually(() => server.stats().clients === rooms.length * 2 + 1);
  expect(server.stats().routing.foreignAddressDrops).toBe(0);

  // Metrics name the instance: up and held messages per instance, and each process's own series apart.
  const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  for (const instance of ['0', '1', '2']) {
    expect(samples.filter((x) => x.name === 'switchyard_process_up' && x.labels.kind === 'service' && x.labels.instance === instance).map((x) => x.value)).toEqual([1]);
    expect(samples.filter((x) => x.name === 'switchyard_held_messages' && x.labels.service === 'shard' && x.labels.instance === instance)).toHaveLength(1);
    expect(samples.some((x) => x.name === 'switchyard_event_loop_lag_seconds' && x.labels.process === `service-shard#${instance}`)).toBe(true);
  }
});

test('broadcast from any instance reaches every client of the service; publish reaches every subscriber, only on workers that hold one', async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, services: { shard: { module: MODULE, instances: 3 } } });
  const [workerA, workerB] = server.stats().workers.map((w) => w.id) as [number, number];
  // Clients until some instance has one on each worker, and another instance has one too.
  const all: Array<Awaited<ReturnType<typeof joined>>> = [];
  const find = (instance: number, worker: number) => all.find((c) => c.welcome.instance === instance && c.worker === worker);
  for (let tries = 0; tries < 40 && !(find(0, workerA) && find(1, workerB) && find(2, workerA)); tries++) all.push(await joined(port));
  const subscriberA = find(0, workerA) as (typeof all)[number];
  const otherB = find(1, workerB) as (typeof all)[number];
  const publisher = find(2, workerA) as (typeof all)[number];
  expect([subscriberA, otherB, publisher].every((c) => c !== undefined)).toBe(true);

  // Broadcast from instance 2: every client of every instance, on both workers.
  publisher.client.socket.send('bcast:hello all');
  await eventually(() => all.every((c) => texts(c.client).includes('hello all')));

  // Instance 0 subscribes a client on worker A to "news"; instance 2 (which subscribed nobody) publishes to it.
  subscriberA.client.socket.send('sub:news');
  await subscriberA.client.json((m) => m.type === 'subscribed' && m.topic === 'news');
  // Instance 2 learns of the interest from worker A over its link, a moment later: publish probes until one arrives.
  await eventually(() => {
    publisher.client.socket.send('pub:news:probe');
    return texts(subscriberA.client).includes('probe');
  });
  const beforeA = await ipcPublishes(port, workerA);
  const beforeB = await ipcPublishes(port, workerB);
  for (let i = 0; i < 10; i++) publisher.client.socket.send(`pub:news:m${i}`);
  await eventually(() => texts(subscriberA.client).includes('m9'));
  expect(texts(subscriberA.client).filter((m) => /^m\d$/.test(m))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  // Worker A got the 10 publishes (probes still on their way may add to it); worker B, with no subscriber of "news", none.
  expect((await ipcPublishes(port, workerA)) - beforeA).toBeGreaterThanOrEqual(10);
  expect((await ipcPublishes(port, workerB)) - beforeB).toBe(0);
  // The count a publish returns is of the publishing instance's own subscribers.
  expect(publisher.client.messages.some((m) => typeof m === 'string' && m.includes('"published"') && m.includes('"to":0'))).toBe(true);

  // A topic without subscribers anywhere costs no IPC.
  otherB.client.socket.send('pub:nobody:x');
  await otherB.client.json((m) => m.type === 'published' && m.topic === 'nobody' && m.to === 0);
  expect((await ipcPublishes(port, workerB)) - beforeB).toBe(0);
  expect(server.stats().routing.foreignAddressDrops).toBe(0);
});

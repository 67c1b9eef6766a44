/**
 * A reload that changes a service's instance count (docs/instances.md):
 * clients whose shard key then maps to another instance get 1012 and
 * reconnect to it; the others stay connected, and are served by the reloaded
 * processes. Real clusters: 2 workers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ownerOf } from '../../src/rendezvous';
import { isSwitchyardError } from '../../src/errors';
import { closeAll, connect, eventually, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';

afterEach(closeAll);
// Several TypeScript service processes start and restart per test: slow on a loaded 2-core machine.
jest.setTimeout(180_000);
const SLOW_START = 90_000;

const MODULE = path.join(FIXTURES, 'sharded.ts');

async function joined(port: number, room: string): Promise<{ client: TestClient; room: string; instance: number }> {
  const client = await connect(port, `/shard?room=${room}`);
  const welcome = await client.json<{ instance: number }>((m) => m.type === 'welcome');
  return { client, room, instance: welcome.instance };
}

test('growing from 2 to 3 instances closes with 1012 exactly the clients that now belong to the new one; shrinking to 1 those of the removed ones', async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, services: { shard: { module: MODULE, instances: 2, shardBy: 'query:room' } } });
  const clients = [];
  for (let i = 0; i < 12; i++) clients.push(await joined(port, `r${i}`));
  for (const c of clients) expect(c.instance).toBe(ownerOf(`q:${c.room}`, 2));
  const moving = clients.filter((c) => ownerOf(`q:${c.room}`, 3) !== c.instance);
  const staying = clients.filter((c) => ownerOf(`q:${c.room}`, 3) === c.instance);
  expect(moving.length).toBeGreaterThan(0);
  expect(staying.length).toBeGreaterThan(0);
  // Rendezvous hashing: every key that moves goes to the new instance.
  for (const c of moving) expect(ownerOf(`q:${c.room}`, 3)).toBe(2);

  expect(() => server.reload({ instances: { nope: 2 } })).toThrow('there is no service named "nope"');
  expect(() => server.reload({ instances: { shard: 0 } })).toThrow('must be an integer from 1 to 64');

  await server.reload({ instances: { shard: 3 }, workers: false });
  expect(server.stats().services.map((s) => [s.instance, s.state])).toEqual([
    [0, 'online'],
    [1, 'online'],
    [2, 'online'],
  ]);
  for (const c of moving) expect(await c.client.closed).toBe(1012);
  for (const c of staying) {
    expect(c.client.closeCode).toBeUndefined();
    c.client.socket.send('n:7');
    expect(await c.client.json<{ k: number; instance: number }>((m) => m.type === 'n' && m.k === 7)).toMatchObject({ instance: c.instance });
  }
  // A moved client that reconnects lands on the new instance, which knows it is one of 3.
  const back = await connect(port, `/shard?room=${(moving[0] as (typeof moving)[number]).room}`);
  expect(await back.json((m) => m.type === 'welcome')).toMatchObject({ instance: 2, instances: 3 });

  // Down to 1: the clients of instances 1 and 2 get 1012; instance 0's stay.
  const before = [...staying, { client: back, room: (moving[0] as (typeof moving)[number]).room, instance: 2 }];
  await server.reload({ instances: { shard: 1 }, workers: false });
  expect(server.stats().services.map((s) => [s.name, s.instance, s.state])).toEqual([['shard', 0, 'online']]);
  for (const c of before) {
    if (c.instance === 0) {
      c.client.socket.send('n:8');
      expect(await c.client.json<{ k: number; instance: number }>((m) => m.type === 'n' && m.k === 8)).toMatchObject({ instance: 0 });
    } else expect(await c.client.closed).toBe(1012);
  }
  await eventually(() => server.stats().services.length === 1 && server.stats().routing.foreignAddressDrops === 0);
});

test('reload options are checked at once', async () => {
  const { server } = await startCluster({ startTimeout: SLOW_START, services: { shard: MODULE } });
  let code: string | undefined;
  try {
    void server.reload({ instances: { shard: 1.5 } });
  } catch (error) {
    code = isSwitchyardError(error) ? error.code : undefined;
  }
  expect(code).toBe('SY_ERR_INVALID_ARGUMENT');
});

test('a client moved by a count change gets its 1012 only after the replies to what it sent before', async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, services: { shard: { module: MODULE, instances: 2, shardBy: 'query:room' } } });
  const rooms = Array.from({ length: 40 }, (_, i) => `m${i}`).filter((room) => ownerOf(`q:${room}`, 3) === 2);
  const [busy, idle] = [await joined(port, rooms[0] as string), await joined(port, rooms[1] as string)];
  const release = path.join(os.tmpdir(), `sy-resize-release-${process.pid}-${Date.now()}`);
  busy.client.socket.send(`wait:1:${release}`);
  const reloaded = server.reload({ instances: { shard: 3 }, workers: false });
  // The idle moved client is closed at once: the worker has applied the new count.
  expect(await idle.client.closed).toBe(1012);
  expect(busy.client.closeCode).toBeUndefined();
  fs.writeFileSync(release, '');
  try {
    expect(await busy.client.closed).toBe(1012);
    // The reply came first, on the same socket.
    expect(busy.client.messages.map((m) => JSON.parse(String(m)) as { type: string; k?: number }).filter((m) => m.type === 'n')).toEqual([expect.objectContaining({ k: 1 })]);
  } finally {
    fs.rmSync(release, { force: true });
  }
  await reloaded;
});

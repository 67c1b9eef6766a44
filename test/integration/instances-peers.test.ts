/**
 * Instances of one service talk to each other (docs/instances.md): directly,
 * in order per sender, to every peer that is up; a restarted peer is
 * announced to the others (`onPeerUp`); the cluster-wide subscriber count
 * adds every instance's. Real clusters: 2 workers, 3 instances.
 */
import * as path from 'node:path';
import { ownerOf } from '../../src/rendezvous';
import { closeAll, connect, eventually, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';

afterEach(closeAll);
// Three TypeScript service processes start per test: on a loaded 2-core machine that alone can take tens of seconds.
jest.setTimeout(120_000);
const SLOW_START = 90_000;

const services = { peered: { module: path.join(FIXTURES, 'peered.ts'), instances: 3, shardBy: 'query:room' } };

function roomOf(instance: number, salt = ''): string {
  for (let i = 0; ; i++) if (ownerOf(`q:room${salt}${i}`, 3) === instance) return `room${salt}${i}`;
}

async function on(port: number, instance: number, salt = ''): Promise<TestClient> {
  const client = await connect(port, `/peered?room=${roomOf(instance, salt)}`);
  await client.json((m) => m.type === 'welcome' && m.instance === instance);
  return client;
}

function fromPeers(client: TestClient): Array<{ from: number; text: string }> {
  return client.messages.flatMap((m) => {
    const value = JSON.parse(String(m)) as { type: string; from: number; text: string };
    return value.type === 'peer' ? [{ from: value.from, text: value.text }] : [];
  });
}

test('peers get every message of a sender in order, a message to one peer reaches only it, and a restarted peer is announced', async () => {
  const { port, server } = await startCluster({ startTimeout: SLOW_START, restartDelay: 100, services });
  const [a, b, c] = [await on(port, 0), await on(port, 1), await on(port, 2)];
  for (let i = 0; i < 50; i++) a.socket.send(`tell:m${i}`);
  const expected = Array.from({ length: 50 }, (_, i) => ({ from: 0, text: `m${i}` }));
  await eventually(() => fromPeers(b).length >= 50 && fromPeers(c).length >= 50, 20_000);
  expect(fromPeers(b)).toEqual(expected);
  expect(fromPeers(c)).toEqual(expected);
  expect(fromPeers(a)).toEqual([]);
  const told = await a.json<{ to: number }>((m) => m.type === 'told');
  expect(told.to).toBe(2);

  b.socket.send('to:2:direct');
  await eventually(() => fromPeers(c).some((m) => m.text === 'direct'));
  expect(fromPeers(c).at(-1)).toEqual({ from: 1, text: 'direct' });
  expect(fromPeers(a).some((m) => m.text === 'direct')).toBe(false);

  // Instance 2 is SIGKILLed: once its next process is up, the others hear onPeerUp(2), and talk to the new process.
  process.kill(server.stats().services[2]?.pid as number, 'SIGKILL');
  await a.json((m) => m.type === 'peerUp' && m.instance === 2, 30_000);
  await b.json((m) => m.type === 'peerUp' && m.instance === 2, 30_000);
  const fresh = await on(port, 2, 'again');
  a.socket.send('tell:after restart');
  await eventually(() => fromPeers(fresh).some((m) => m.text === 'after restart' && m.from === 0), 20_000);
  // The master carried none of it: no IPC message type for peer traffic exists on its channels.
  expect(server.stats().routing.foreignAddressDrops).toBe(0);
});

test('clusterSubscribers adds every instance count; subscribers stays this instance own', async () => {
  const { port } = await startCluster({ startTimeout: SLOW_START, services });
  const clients = [await on(port, 0), await on(port, 0, 'b'), await on(port, 1), await on(port, 2)];
  const owns: number[] = [];
  for (const client of clients) {
    client.socket.send('sub:news');
    owns.push((await client.json<{ own: number }>((m) => m.type === 'subscribed')).own);
  }
  expect(owns).toEqual([1, 2, 1, 1]);
  for (const client of [clients[0], clients[2], clients[3]] as TestClient[]) {
    client.socket.send('total:news');
    expect((await client.json<{ total: number }>((m) => m.type === 'total')).total).toBe(4);
  }
  // A client leaves: the count follows as soon as its instance handled the close.
  clients[1]?.socket.close();
  await clients[1]?.closed;
  await eventually(() => {
    clients[3]?.socket.send('total:news');
    return clients[3]?.messages.some((m) => String(m).includes('"total":3')) === true;
  });
});

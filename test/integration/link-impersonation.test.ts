/**
 * A local process of the same user as the cluster can reach a service
 * instance's Unix socket (the folder is 0700: other users cannot). It must
 * not pass for a worker: a hello without the secret the master gave that
 * worker, or for a worker id the master never announced, is refused, so it
 * can neither inject a client nor claim a future worker id and black-hole the
 * replacement worker's link.
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SwitchyardServer } from '../../src/master/server';
import { FIXTURES, closeAll, connect, startCluster } from '../helpers/cluster';
import { LinePeer } from '../helpers/line-peer';

afterEach(closeAll);

/** The socket of the one running service instance, found in this master's private folder (`switchyard-<pid>-XXXXXX`). */
function serviceSocket(): string {
  const prefix = `switchyard-${process.pid}-`;
  const sockets = fs
    .readdirSync(os.tmpdir())
    .filter((name) => name.startsWith(prefix))
    .flatMap((name) => {
      const dir = path.join(os.tmpdir(), name);
      return fs.readdirSync(dir).filter((file) => file.endsWith('.sock')).map((file) => path.join(dir, file));
    });
  expect(sockets).toHaveLength(1);
  return sockets[0] as string;
}

const client = (id: string): Record<string, unknown> => ({ id, service: 'rec', path: '/rec', query: {}, headers: {}, remoteAddress: '203.0.113.6' });

/** Connects to the service's socket as the same user and says hello as `worker`, then injects a client and a message. */
async function impostor(endpoint: string, worker: number, secret: string | undefined): Promise<LinePeer> {
  const socket = net.connect(endpoint);
  await once(socket, 'connect');
  const peer = new LinePeer(socket);
  const hello = secret === undefined ? { type: 'hello', worker } : { type: 'hello', worker, secret };
  // Client ids name their worker in base 36 (`client-id.ts`).
  const id = `${worker.toString(36)}.999`;
  peer.send([hello, { type: 'connect', client: client(id), seq: 1 }, { type: 'message', id, seq: 2, data: 'injected' }]);
  return peer;
}

async function startRecorder(): Promise<{ server: SwitchyardServer; port: number }> {
  return startCluster({ workers: 1, services: { rec: path.join(FIXTURES, 'recorder.ts') }, restartDelay: 50 });
}

test('hellos without the right secret, or for a worker id not announced, are refused: nothing is injected', async () => {
  const { server, port } = await startRecorder();
  // node:cluster numbers workers for the life of this (the master's) process: 1 only in the first cluster.
  const running = server.stats().workers[0]?.id as number;
  const real = await connect(port, '/rec');
  const welcome = await real.json<{ id: string }>((m) => m.type === 'welcome');
  const endpoint = serviceSocket();
  const wrong = 'A'.repeat(43);
  const attempts: Array<[number, string | undefined]> = [
    [running, undefined],
    [running, wrong],
    [running + 1, undefined],
    [running + 1, wrong],
  ];
  for (const [worker, secret] of attempts) {
    const peer = await impostor(endpoint, worker, secret);
    // Closed by the service, having told the impostor nothing (no welcome, no ack).
    await peer.until(() => peer.isClosed, 3000);
    expect(peer.messages).toEqual([]);
  }
  // The real client still works, and the service never heard of an injected client.
  real.socket.send('events?');
  const { events } = await real.json<{ events: Array<{ id: string }> }>((m) => m.type === 'events');
  expect(events.map((event) => event.id)).toEqual([welcome.id]);
});

test('an impostor that claimed the next worker id does not black-hole the replacement worker', async () => {
  const { server, port } = await startRecorder();
  const endpoint = serviceSocket();
  const worker = server.stats().workers[0];
  const next = (worker?.id as number) + 1;
  // node:cluster gives the replacement the next id: claimed in advance.
  const squatter = await impostor(endpoint, next, 'B'.repeat(43));
  const replaced = new Promise<void>((resolve) => server.on('workerOnline', (info) => info.workerId === next && resolve()));
  process.kill(worker?.pid as number, 'SIGKILL');
  await replaced;
  const late = await connect(port, '/rec');
  const welcome = await late.json<{ id: string }>((m) => m.type === 'welcome', 5000);
  expect(welcome.id.startsWith(`${next.toString(36)}.`)).toBe(true);
  late.socket.send('ping');
  await late.received(2, 5000);
  expect(late.messages[1]).toBe('ping');
  expect(squatter.isClosed).toBe(true);
  expect(squatter.messages).toEqual([]);
});

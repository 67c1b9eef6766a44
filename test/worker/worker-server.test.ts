/**
 * One worker server in this process, no cluster: a fake IPC endpoint stands
 * for the master and a line server for the service instance, so that a
 * message can be followed through intake (socket → link) and delivery
 * (link → socket).
 */
import { once, type EventEmitter } from 'node:events';
import pino from 'pino';
import WebSocket from 'ws';
import type { WorkerConfig } from '../../src/child-env';
import type { IpcEndpoint } from '../../src/ipc/batch-queue';
import type { ClientRegistry } from '../../src/worker/client-registry';
import { WorkerServer } from '../../src/worker/worker-server';
import { SocketDir, Waiter, type LinePeer } from '../helpers/line-peer';
import { testWorkerLimits } from '../helpers/worker-limits';

const CONFIG: WorkerConfig = {
  role: 'worker',
  port: 0,
  host: '127.0.0.1',
  services: ['echo'],
  shards: {},
  forwardHeaders: [],
  maxPayload: 1 << 20,
  logLevel: 'silent',
  ipc: { maxMessages: 1000, maxBytes: 1 << 20 },
  healthPath: null,
  readyPath: null,
  metricsPath: null,
  requestTimeout: 1000,
  maxRequestBody: 1 << 20,
  staticDir: false,
  tls: false,
  limits: testWorkerLimits({
    maxBufferedBytes: 1 << 20,
    heartbeatInterval: 60_000,
    maxConnectionsPerWorker: 100,
    maxConnectionsPerIp: 100,
    maxMessagesPerSecond: 0,
    maxInflatedBytesPerSecond: 0,
  }),
};

/** The master's end of the IPC channel: takes every batch at once. */
class FakeMaster implements IpcEndpoint {
  readonly connected = true;
  readonly messages: Array<Record<string, unknown>> = [];
  send(batch: unknown, callback: (error: Error | null) => void): boolean {
    this.messages.push(...(batch as Array<Record<string, unknown>>));
    setImmediate(() => callback(null));
    return true;
  }
}

/** A client that keeps what it receives; `until` waits on its events. */
class Client {
  readonly messages: string[] = [];
  readonly socket: WebSocket;
  private readonly waiter = new Waiter();
  constructor(port: number) {
    this.socket = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    this.socket.on('message', (data: Buffer) => {
      this.messages.push(data.toString());
      this.waiter.notify();
    });
  }
  until(count: number): Promise<void> {
    return this.waiter.until(() => this.messages.length >= count, () => JSON.stringify(this.messages));
  }
}

let sockets: SocketDir;
let server: WorkerServer | undefined;
let clients: Client[] = [];

beforeEach(() => {
  // The tests count the link's events; its resumeEnd, right after the hello, is checked in start().
  sockets = new SocketDir(['resumeEnd']);
});

afterEach(async () => {
  for (const client of clients) client.socket.terminate();
  clients = [];
  await server?.stop();
  server = undefined;
  await sockets.close();
});

async function start(): Promise<{ port: number; instance: LinePeer; registry: ClientRegistry }> {
  server = new WorkerServer(CONFIG, 1, new FakeMaster(), pino({ level: 'silent' }));
  const port = await server.listen();
  const service = await sockets.server('echo');
  server.handle({ type: 'serviceUp', service: 'echo', instance: 0, endpoint: service.path, secret: 'worker-1-secret' });
  const instance = await service.peer(0);
  await instance.untilMessages(1);
  expect(instance.messages[0]).toEqual({ type: 'hello', worker: 1, secret: 'worker-1-secret' });
  // No client to resume: the end of the resumes follows the hello in its first line.
  expect(instance.lines[0]).toEqual([{ type: 'hello', worker: 1, secret: 'worker-1-secret' }, { type: 'resumeEnd' }]);
  // Private: the test looks at the server-side sockets.
  return { port, instance, registry: (server as unknown as { clients: ClientRegistry }).clients };
}

async function connected(port: number): Promise<Client> {
  const client = new Client(port);
  clients.push(client);
  await once(client.socket, 'open');
  return client;
}

test('a client message goes socket → link, and the service reply link → socket', async () => {
  const { port, instance } = await start();
  const client = await connected(port);
  await instance.untilMessages(2);
  const connect = instance.messages[1] as { type: string; client: { id: string }; seq: number };
  expect(connect).toMatchObject({ type: 'connect', seq: 1, client: { service: 'echo', path: '/echo' } });
  const id = connect.client.id;
  client.socket.send('é€😀');
  await instance.untilMessages(3);
  expect(instance.messages[2]).toEqual({ type: 'message', id, seq: 2, data: 'é€😀' });
  instance.send([{ type: 'ack', seqs: [1, 2] }, { type: 'send', id, data: 'back: é€😀' }]);
  await client.until(1);
  expect(client.messages).toEqual(['back: é€😀']);
  client.socket.close(4000, 'bye');
  await instance.untilMessages(4);
  expect(instance.messages[3]).toEqual({ type: 'closed', id, code: 4000, reason: 'bye', seq: 3 });
});

test('every client socket shares the same listeners: no closure per connection', async () => {
  const { port, instance, registry } = await start();
  await connected(port);
  await connected(port);
  await instance.untilMessages(3);
  const [a, b] = [...registry.all()].map((entry) => entry.socket) as [WebSocket, WebSocket];
  expect(a).not.toBe(b);
  for (const event of ['message', 'close', 'error']) {
    expect(a.listeners(event).length).toBeGreaterThan(0);
    expect(a.listeners(event)).toEqual(b.listeners(event));
  }
});

test('an idle client costs one listener per event and no extra ones: three events on its WebSocket, pongs taken from its receiver', async () => {
  // A fourth event name grows a WebSocket's listener table from 160 to 256 bytes; a second listener of an event costs an array.
  const { port, instance, registry } = await start();
  await connected(port);
  await connected(port);
  await instance.untilMessages(3);
  const [a, b] = [...registry.all()].map((entry) => entry.socket) as [WebSocket, WebSocket];
  expect(a.eventNames().sort()).toEqual(['close', 'error', 'message']);
  for (const event of a.eventNames()) expect(a.listenerCount(event)).toBe(1);
  const internals = (ws: WebSocket): { _receiver: EventEmitter; _socket: EventEmitter } => ws as unknown as { _receiver: EventEmitter; _socket: EventEmitter };
  // The heartbeat's pong listener is shared, in place of ws's own (which it calls).
  expect(internals(a)._receiver.listeners('pong')).toHaveLength(1);
  expect(internals(a)._receiver.listeners('pong')).toEqual(internals(b)._receiver.listeners('pong'));
  expect(internals(a)._receiver.listeners('pong')[0]?.name).toBe('receiverOnPong');
  // On the TCP socket, ws's listeners alone: the upgrade's error listener and the connection slot's close listener are gone.
  expect(internals(a)._socket.listenerCount('error')).toBe(1);
  expect(internals(a)._socket.listenerCount('close')).toBe(1);
});

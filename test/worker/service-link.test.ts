// The module object itself (not a namespace copy), so that a test can watch the sockets links open.
import net = require('node:net');
import * as path from 'node:path';
import pino from 'pino';
import type { Logger } from '../../src/logger';
import type { ClientInfo, ServiceToWorker } from '../../src/protocol';
import type { LinkLimits } from '../../src/worker/replay-log';
import { ServiceLink } from '../../src/worker/service-link';
import { SocketDir, Waiter, poll, type LinePeer, type LineServer } from '../helpers/line-peer';
import { recordingLogger } from '../helpers/recording-logger';

const silent = pino({ level: 'silent' });
const info = (id: string): ClientInfo => ({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' });
const LIMITS: LinkLimits = { maxMessages: 100, maxBytes: 1 << 20, maxDeliveries: 3 };
/** The secret the master gave worker 1 for the instances of these tests. */
const SECRET = 'worker-1-secret';
const HELLO = { type: 'hello', worker: 1, secret: SECRET };

let sockets: SocketDir;
const links: ServiceLink[] = [];
/** Each link's waiter, woken by its hooks: every line from the service ends in onBatch, acks taken before it. */
const waiters = new Map<ServiceLink, Waiter>();

beforeEach(() => {
  // The order of the other messages is what these tests check; where `resumeEnd` goes has its own test.
  sockets = new SocketDir(['resumeEnd']);
});

afterEach(async () => {
  for (const link of links.splice(0)) link.end();
  waiters.clear();
  await sockets.close();
});

/** What the link's hooks saw, in order: `fresh` for onFreshInstance, `gone` for onInstanceGone, `quarantined <ids> at <socket>` for onQuarantined. */
type HookEvent = 'fresh' | 'gone' | `quarantined ${string}`;

/** A link of worker 1 to service `echo`, with what its hooks saw. */
function link(limits: LinkLimits = LIMITS, log: Logger = silent): {
  link: ServiceLink;
  batches: ServiceToWorker[][];
  fresh: HookEvent[];
  gone: HookEvent[];
  hooks: HookEvent[];
  waiter: Waiter;
} {
  const batches: ServiceToWorker[][] = [];
  const hooks: HookEvent[] = [];
  const fresh: HookEvent[] = [];
  const gone: HookEvent[] = [];
  const waiter = new Waiter();
  const created = new ServiceLink('echo', 1, limits, log, {
    onBatch: (from, batch) => {
      expect(from).toBe(created);
      batches.push([...batch]);
      waiter.notify();
    },
    onFreshInstance: (from) => {
      expect(from).toBe(created);
      fresh.push('fresh');
      hooks.push('fresh');
      waiter.notify();
    },
    onInstanceGone: (from) => {
      expect(from).toBe(created);
      gone.push('gone');
      hooks.push('gone');
      waiter.notify();
    },
    onQuarantined: (from, clients, endpoint) => {
      expect(from).toBe(created);
      hooks.push(`quarantined ${clients.join(',')} at ${path.basename(endpoint)}`);
      waiter.notify();
    },
  });
  links.push(created);
  waiters.set(created, waiter);
  return { link: created, batches, fresh, gone, hooks, waiter };
}

/** Instance `server` accepts the link's connection, and the link has said hello. */
async function up(server: LineServer, index: number, subject: ServiceLink): Promise<LinePeer> {
  const peer = await server.peer(index);
  await peer.untilMessages(1);
  expect(peer.messages[0]).toEqual(HELLO);
  expect(subject.state).toBe('up');
  return peer;
}

/** Instance `name` starts, the master announces it, and the link connects and says hello. */
async function instance(subject: ServiceLink, name: string): Promise<{ server: LineServer; peer: LinePeer }> {
  const server = await sockets.server(name);
  subject.instanceUp(server.path, SECRET);
  return { server, peer: await up(server, 0, subject) };
}

/** The instance behind `peer` acknowledges `seqs`; resolves once the link holds `remaining` events. */
async function acked(subject: ServiceLink, peer: LinePeer, seqs: number[], remaining: number): Promise<void> {
  peer.send([{ type: 'ack', seqs }]);
  await (waiters.get(subject) as Waiter).until(() => subject.heldCount === remaining, () => `${subject.heldCount} held`);
}

test('hello goes first on a new connection, then the events in the order they happened, one seq counter for all', async () => {
  const { link: l, fresh } = link();
  const a = await sockets.server('a');
  expect(l.available).toBe(false);
  l.instanceUp(a.path, SECRET);
  const peer = await up(a, 0, l);
  expect(l.available).toBe(true);
  expect(fresh).toHaveLength(1);
  expect(l.connect(info('1.1'))).toBe('ok');
  expect(l.message('1.1', 'a', false, undefined)).toBe('ok');
  expect(l.message('1.1', 'AQI=', true, 1234)).toBe('ok');
  l.closed('1.1', 1000, 'bye');
  await peer.untilMessages(5);
  await peer.expectNothingWithin(20);
  expect(peer.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), seq: 1 },
    { type: 'message', id: '1.1', seq: 2, data: 'a' },
    { type: 'message', id: '1.1', seq: 3, data: 'AQI=', binary: true, ts: 1234 },
    { type: 'closed', id: '1.1', code: 1000, reason: 'bye', seq: 4 },
  ]);
  // Sent in one turn: one batch line after the hello's.
  expect(peer.lines).toHaveLength(2);
  // The connect and the close are kept until acknowledged, like the messages.
  expect(l.heldCount).toBe(4);
  await acked(l, peer, [1, 4], 2);
  await acked(l, peer, [2, 3], 0);
});

test('events while the service is down are held and replayed in order once an instance is up', async () => {
  const { link: l, fresh } = link();
  expect(l.connect(info('1.1'))).toBe('ok');
  expect(l.message('1.1', 'one', false, undefined)).toBe('ok');
  expect(l.connect(info('1.2'))).toBe('ok');
  expect(l.message('1.2', 'two', false, undefined)).toBe('ok');
  l.closed('1.1', 1001, 'away');
  expect(l.message('1.2', 'three', false, undefined)).toBe('ok');
  expect(l.heldCount).toBe(6);
  // Requests are refused, not held.
  expect(l.request({ rid: '1.1', method: 'GET', path: '/', query: {}, headers: {}, data: '' })).toBe(false);
  const { peer: peer } = await instance(l, 'a');
  await peer.untilMessages(7);
  await peer.expectNothingWithin(20);
  expect(fresh).toHaveLength(1);
  // No client was known (no connect acknowledged): nothing is resumed, every connect is plain.
  expect(peer.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), seq: 1 },
    { type: 'message', id: '1.1', seq: 2, data: 'one' },
    { type: 'connect', client: info('1.2'), seq: 3 },
    { type: 'message', id: '1.2', seq: 4, data: 'two' },
    { type: 'closed', id: '1.1', code: 1001, reason: 'away', seq: 5 },
    { type: 'message', id: '1.2', seq: 6, data: 'three' },
  ]);
  // Still unacknowledged: held until the service says it is done with them.
  expect(l.heldCount).toBe(6);
});

test('events while connecting are held too, and follow the hello', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path, SECRET);
  expect(l.state).toBe('connecting');
  expect(l.connect(info('1.1'))).toBe('ok');
  expect(l.message('1.1', 'early', false, undefined)).toBe('ok');
  const peer = await up(a, 0, l);
  await peer.untilMessages(3);
  await peer.expectNothingWithin(20);
  expect(peer.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), seq: 1 },
    { type: 'message', id: '1.1', seq: 2, data: 'early' },
  ]);
});

test('a new instance gets every client whose connect was acknowledged as a resumed connect, and none whose close was', async () => {
  const { link: l, fresh } = link();
  const { peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.connect(info('1.2'));
  l.connect(info('1.3'));
  l.closed('1.2', 1000, '');
  await peerA.untilMessages(5);
  await acked(l, peerA, [1, 2, 3, 4], 0);
  await peerA.destroy();
  await l.drained();
  const { peer: peerB } = await instance(l, 'b');
  await peerB.untilMessages(3);
  await peerB.expectNothingWithin(20);
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'connect', client: info('1.3'), resumed: true },
  ]);
  expect(fresh).toHaveLength(2);
  // Resumed connects are not numbered nor kept; new events follow on the new instance.
  expect(l.heldCount).toBe(0);
  l.message('1.3', 'after', false, undefined);
  await peerB.untilMessages(4);
  expect(peerB.messages[3]).toEqual({ type: 'message', id: '1.3', seq: 5, data: 'after' });
});

test('an unacknowledged message is redelivered, marked, to the next instance after the link to the first closed; acked ones are not', async () => {
  const { link: l } = link();
  const { server: a, peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'handled', false, undefined);
  l.message('1.1', 'in flight', false, 99);
  l.message('1.1', 'also in flight', false, undefined);
  await peerA.untilMessages(5);
  expect(l.heldCount).toBe(4);
  await acked(l, peerA, [1, 2], 2);
  // Instance A dies.
  await a.close();
  const { peer: peerB } = await instance(l, 'b');
  await peerB.untilMessages(4);
  await peerB.expectNothingWithin(20);
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 3, data: 'in flight', ts: 99, redelivered: true },
    { type: 'message', id: '1.1', seq: 4, data: 'also in flight', redelivered: true },
  ]);
  expect(l.heldCount).toBe(2);
});

test('redeliveries come after the resumed connects, and what was held while down follows in seq order', async () => {
  const { link: l } = link();
  const { server: a, peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'sent to A', false, undefined);
  await peerA.untilMessages(3);
  await acked(l, peerA, [1], 1);
  await a.close();
  await waitForState(l, 'down');
  l.message('1.1', 'held', false, undefined);
  l.connect(info('1.2'));
  l.closed('1.1', 1000, '');
  expect(l.heldCount).toBe(4);
  const { peer: peerB } = await instance(l, 'b');
  await peerB.untilMessages(6);
  await peerB.expectNothingWithin(20);
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 2, data: 'sent to A', redelivered: true },
    { type: 'message', id: '1.1', seq: 3, data: 'held' },
    { type: 'connect', client: info('1.2'), seq: 4 },
    { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 5 },
  ]);
});

test('after the instance said retired, what it did not acknowledge goes to the next one unmarked', async () => {
  const { link: l } = link();
  const { peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'handled', false, undefined);
  l.message('1.1', 'never handled', false, undefined);
  await peerA.untilMessages(4);
  peerA.send([{ type: 'ack', seqs: [1, 2] }, { type: 'retired' }]);
  await waitForState(l, 'down');
  // The retiring instance gets nothing more; new messages wait for the next one.
  expect(l.message('1.1', 'while retiring', false, undefined)).toBe('ok');
  await peerA.expectNothingWithin(30);
  expect(peerA.messages).toHaveLength(4);
  expect(l.heldCount).toBe(2);
  // The next instance is announced before the old one's socket has closed: the link waits for it.
  const b = await sockets.server('b');
  l.instanceUp(b.path, SECRET);
  await b.expectNoConnectionWithin(30);
  await peerA.destroy();
  const peerB = await up(b, 0, l);
  await peerB.untilMessages(4);
  await peerB.expectNothingWithin(20);
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 3, data: 'never handled' },
    { type: 'message', id: '1.1', seq: 4, data: 'while retiring' },
  ]);
});

test('events sent to a retiring instance after it stopped handling are all replayed to the next one after retired, unmarked; nothing is lost', async () => {
  const { link: l, gone } = link();
  const { server: a, peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'handled', false, undefined);
  await peerA.untilMessages(3);
  await acked(l, peerA, [1, 2], 0);
  // Instance A begins to retire: it handles (and acknowledges) nothing more, but until it says
  // `retired` the link still sends to it — a new client's connect, message and close, and the
  // close of a client A knew.
  expect(l.connect(info('1.2'))).toBe('ok');
  expect(l.message('1.2', 'to the retiring one', false, undefined)).toBe('ok');
  l.closed('1.2', 1000, 'short visit');
  l.closed('1.1', 1001, 'away');
  await peerA.untilMessages(7);
  expect(peerA.messages.slice(3)).toEqual([
    { type: 'connect', client: info('1.2'), seq: 3 },
    { type: 'message', id: '1.2', seq: 4, data: 'to the retiring one' },
    { type: 'closed', id: '1.2', code: 1000, reason: 'short visit', seq: 5 },
    { type: 'closed', id: '1.1', code: 1001, reason: 'away', seq: 6 },
  ]);
  expect(l.heldCount).toBe(4);
  peerA.send([{ type: 'retired' }]);
  await waitForState(l, 'down');
  expect(gone).toHaveLength(1);
  expect(l.heldCount).toBe(4);
  // A exits.
  await a.close();
  const { server: b, peer: peerB } = await instance(l, 'b');
  await peerB.untilMessages(6);
  await peerB.expectNothingWithin(20);
  // 1.1 is still known (its close was never acknowledged): resumed first, then its close after it.
  // 1.2 was never known (its connect was never acknowledged): a plain, numbered connect.
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'connect', client: info('1.2'), seq: 3 },
    { type: 'message', id: '1.2', seq: 4, data: 'to the retiring one' },
    { type: 'closed', id: '1.2', code: 1000, reason: 'short visit', seq: 5 },
    { type: 'closed', id: '1.1', code: 1001, reason: 'away', seq: 6 },
  ]);
  // B handles it all: no client is known any more, so a third instance has nothing to resume.
  await acked(l, peerB, [3, 4, 5, 6], 0);
  await b.close();
  const { peer: peerC } = await instance(l, 'c');
  await peerC.expectNothingWithin(30);
  expect(peerC.messages).toEqual([HELLO]);
});

test('a connect sent but never acknowledged when the instance dies is replayed as a plain connect, then its client\'s messages', async () => {
  const { link: l } = link();
  const { server: a, peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  await peerA.untilMessages(2);
  await acked(l, peerA, [1], 0);
  l.connect(info('1.2'));
  l.message('1.2', 'first', false, undefined);
  l.message('1.2', 'second', false, undefined);
  await peerA.untilMessages(5);
  // Instance A dies without acknowledging 1.2's connect.
  await a.close();
  await waitForState(l, 'down');
  const { server: b, peer: peerB } = await instance(l, 'b');
  await peerB.untilMessages(5);
  await peerB.expectNothingWithin(20);
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    // Not resumed, not marked: B must run onConnect for it, and acknowledge it.
    { type: 'connect', client: info('1.2'), seq: 2 },
    { type: 'message', id: '1.2', seq: 3, data: 'first', redelivered: true },
    { type: 'message', id: '1.2', seq: 4, data: 'second', redelivered: true },
  ]);
  // Once B acknowledged the connect, 1.2 is known: the instance after B resumes it.
  await acked(l, peerB, [2], 2);
  await b.close();
  const { peer: peerC } = await instance(l, 'c');
  await peerC.untilMessages(5);
  await peerC.expectNothingWithin(20);
  expect(peerC.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'connect', client: info('1.2'), resumed: true },
    { type: 'message', id: '1.2', seq: 3, data: 'first', redelivered: true },
    { type: 'message', id: '1.2', seq: 4, data: 'second', redelivered: true },
  ]);
});

test('a message left unhandled by a retired instance is marked again if the next one dies without acknowledging it; connects never are', async () => {
  const { link: l } = link();
  const { server: a, peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await peerA.untilMessages(3);
  peerA.send([{ type: 'retired' }]);
  await waitForState(l, 'down');
  await a.close();
  const { server: b, peer: peerB } = await instance(l, 'b');
  await peerB.untilMessages(3);
  await peerB.expectNothingWithin(20);
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), seq: 1 },
    { type: 'message', id: '1.1', seq: 2, data: 'x' },
  ]);
  await b.close();
  const { peer: peerC } = await instance(l, 'c');
  await peerC.untilMessages(3);
  await peerC.expectNothingWithin(20);
  expect(peerC.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), seq: 1 },
    { type: 'message', id: '1.1', seq: 2, data: 'x', redelivered: true },
  ]);
});

test('a broken link to an instance still announced is retried, and replays to it', async () => {
  const { link: l, fresh } = link();
  const { server: a, peer: first } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await first.untilMessages(3);
  await acked(l, first, [1], 1);
  await first.destroy();
  // The retry comes after a short delay, to the same endpoint.
  const second = await up(a, 1, l);
  await second.untilMessages(3);
  await second.expectNothingWithin(20);
  expect(second.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 2, data: 'x', redelivered: true },
  ]);
  expect(fresh).toHaveLength(2);
});

test('each hello carries the secret announced with its instance: a retry the same one, the next instance its own', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path, 'secret-for-a');
  const first = await a.peer(0);
  await first.untilMessages(1);
  expect(first.messages[0]).toEqual({ type: 'hello', worker: 1, secret: 'secret-for-a' });
  await first.destroy();
  const retried = await a.peer(1);
  await retried.untilMessages(1);
  expect(retried.messages[0]).toEqual({ type: 'hello', worker: 1, secret: 'secret-for-a' });
  // The next instance is announced while the link to A is up: it connects once that socket has closed.
  const b = await sockets.server('b');
  l.instanceUp(b.path, 'secret-for-b');
  await retried.destroy();
  const next = await b.peer(0);
  await next.untilMessages(1);
  expect(next.messages[0]).toEqual({ type: 'hello', worker: 1, secret: 'secret-for-b' });
});

/** The sockets the links open, in order: a test reaches the worker's end of a link through them. */
function linkSockets(): net.Socket[] {
  const opened: net.Socket[] = [];
  const connect = net.connect;
  jest.spyOn(net, 'connect').mockImplementation(((...args: Parameters<typeof net.connect>) => {
    const socket = connect(...args);
    opened.push(socket);
    return socket;
  }) as typeof net.connect);
  return opened;
}

/** Two ways a write fails while the socket stays open: a write that throws (JSON past V8's string limit does), and one whose callback gets an error. */
const BROKEN_WRITES: Array<[string, (socket: net.Socket) => void]> = [
  [
    'a write that throws',
    (socket) => {
      socket.write = (() => {
        throw new RangeError('Invalid string length (injected)');
      }) as typeof socket.write;
    },
  ],
  [
    'a write that calls back with an error',
    (socket) => {
      socket.write = ((_chunk: unknown, callback?: (error?: Error | null) => void) => {
        process.nextTick(() => callback?.(new Error('EPIPE (injected)')));
        return true;
      }) as typeof socket.write;
    },
  ],
];

describe('a failed write on the link takes the path of a closed socket: down, reconnect, replay', () => {
  afterEach(() => jest.restoreAllMocks());

  test.each(BROKEN_WRITES)('%s', async (_name, breakWrites) => {
    const opened = linkSockets();
    const { link: l, hooks } = link();
    const { server: a, peer: first } = await instance(l, 'a');
    l.connect(info('1.1'));
    await first.untilMessages(2);
    await acked(l, first, [1], 0);
    breakWrites(opened[0] as net.Socket);
    expect(l.message('1.1', 'lost in the write', false, undefined)).toBe('ok');
    // The link cuts its socket (the instance sees it close) instead of keeping a dead queue while up.
    await first.until(() => first.isClosed);
    expect(l.state).toBe('down');
    expect(hooks).toEqual(['fresh', 'gone']);
    // What is sent meanwhile is held, not pushed into the dead queue.
    expect(l.message('1.1', 'while down', false, undefined)).toBe('ok');
    // It reconnects to the instance still announced, and replays what was not acknowledged.
    const second = await up(a, 1, l);
    await second.untilMessages(4);
    expect(second.messages).toEqual([
      HELLO,
      { type: 'connect', client: info('1.1'), resumed: true },
      { type: 'message', id: '1.1', seq: 2, data: 'lost in the write', redelivered: true },
      { type: 'message', id: '1.1', seq: 3, data: 'while down' },
    ]);
    expect(hooks).toEqual(['fresh', 'gone', 'fresh']);
    expect(l.queueDropped).toBe(0);
    expect(l.heldCount).toBe(2);
  });
});

test('the bound on unacknowledged events refuses messages and connects; acks make room again', async () => {
  const { link: l } = link({ ...LIMITS, maxMessages: 3, maxBytes: 1 << 20 });
  const { peer: peer } = await instance(l, 'a');
  // The connect counts.
  expect(l.connect(info('1.1'))).toBe('ok');
  expect(l.message('1.1', 'a', false, undefined)).toBe('ok');
  expect(l.message('1.1', 'b', false, undefined)).toBe('ok');
  expect(l.message('1.1', 'c', false, undefined)).toBe('full');
  expect(l.heldCount).toBe(3);
  await peer.untilMessages(4);
  await acked(l, peer, [2], 2);
  expect(l.message('1.1', 'd', false, undefined)).toBe('ok');
  expect(l.message('1.1', 'e', false, undefined)).toBe('full');
  await peer.untilMessages(5);
  await peer.expectNothingWithin(20);
  // The refused messages used no sequence number.
  expect(peer.messages.slice(1).map((m) => [m.type, m.seq, m.data])).toEqual([
    ['connect', 1, undefined],
    ['message', 2, 'a'],
    ['message', 3, 'b'],
    ['message', 4, 'd'],
  ]);
});

test("connect() answers 'full' at the bound and 'failed' after instanceFailed; a closed() passes the bound", async () => {
  const { link: l } = link({ ...LIMITS, maxMessages: 2, maxBytes: 1 << 20 });
  expect(l.connect(info('1.1'))).toBe('ok');
  expect(l.connect(info('1.2'))).toBe('ok');
  expect(l.connect(info('1.3'))).toBe('full');
  expect(l.message('1.1', 'x', false, undefined)).toBe('full');
  // At most one close per connect: always taken, even past the bound.
  l.closed('1.1', 1000, '');
  expect(l.heldCount).toBe(3);
  const { peer: peer } = await instance(l, 'a');
  await peer.untilMessages(4);
  await peer.expectNothingWithin(20);
  // The refused connect used no sequence number and never reaches the service.
  expect(peer.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.1'), seq: 1 },
    { type: 'connect', client: info('1.2'), seq: 2 },
    { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 3 },
  ]);
  await acked(l, peer, [1, 2, 3], 0);
  expect(l.connect(info('1.4'))).toBe('ok');
  await peer.untilMessages(5);
  expect(peer.messages[4]).toEqual({ type: 'connect', client: info('1.4'), seq: 4 });
  l.instanceFailed();
  expect(l.connect(info('1.5'))).toBe('failed');
  expect(l.message('1.2', 'y', false, undefined)).toBe('failed');
  l.closed('1.2', 1000, '');
  expect(l.heldCount).toBe(0);
});

test('the byte bound refuses messages too, also while the service is down; connects are not refused by it', async () => {
  const { link: l } = link({ ...LIMITS, maxMessages: 100, maxBytes: 300 });
  expect(l.connect(info('1.1'))).toBe('ok');
  expect(l.message('1.1', 'x'.repeat(100), false, undefined)).toBe('ok');
  expect(l.message('1.1', 'x'.repeat(100), false, undefined)).toBe('full');
  expect(l.message('1.1', 'small', false, undefined)).toBe('ok');
  // A message that would not fit in what is left of the bytes...
  expect(l.message('1.1', 'x'.repeat(64), false, undefined)).toBe('full');
  // ...but a connect counts against the number of events only.
  expect(l.connect(info('1.2'))).toBe('ok');
  expect(l.heldCount).toBe(4);
  const { peer: peer } = await instance(l, 'a');
  await peer.untilMessages(5);
  expect(peer.messages.slice(1).map((m) => [m.type, m.seq])).toEqual([
    ['connect', 1],
    ['message', 2],
    ['message', 3],
    ['connect', 4],
  ]);
  // Unknown seqs in an ack are ignored.
  await acked(l, peer, [1, 2, 3, 4, 77], 0);
  expect(l.message('1.1', 'x'.repeat(300 - 64), false, undefined)).toBe('ok');
  expect(l.message('1.1', '', false, undefined)).toBe('full');
});

test('instanceFailed drops everything kept, refuses new events, and the next instance starts empty', async () => {
  const { link: l } = link();
  const { server: a, peer: peerA } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await peerA.untilMessages(3);
  // 1.1 is known (its connect acknowledged); its message is not done.
  await acked(l, peerA, [1], 1);
  l.instanceFailed();
  expect(l.state).toBe('failed');
  expect(l.available).toBe(false);
  expect(l.heldCount).toBe(0);
  expect(l.connect(info('1.2'))).toBe('failed');
  expect(l.message('1.1', 'y', false, undefined)).toBe('failed');
  l.closed('1.1', 1000, '');
  expect(l.heldCount).toBe(0);
  await peerA.until(() => peerA.isClosed);
  // No retry to a failed service (a retry would come after 100 ms).
  await a.expectNoConnectionWithin(250);
  expect(a.peers).toHaveLength(1);
  const { peer: peerB } = await instance(l, 'b');
  expect(l.connect(info('1.3'))).toBe('ok');
  await peerB.untilMessages(2);
  await peerB.expectNothingWithin(20);
  // Neither 1.1 (known before) nor its message, nor anything refused while failed.
  expect(peerB.messages).toEqual([
    HELLO,
    { type: 'connect', client: info('1.3'), seq: 3 },
  ]);
});

test('onBatch gets every batch from the service without its acks and retired, in order, also one that only carried those', async () => {
  const { link: l, batches, waiter } = link();
  const { peer: peer } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await peer.untilMessages(3);
  const send: ServiceToWorker = { type: 'send', id: '1.1', data: 'reply' };
  const subscribe: ServiceToWorker = { type: 'subscribe', id: '1.1', topic: 't' };
  const publish: ServiceToWorker = { type: 'publish', topic: 't', data: 'news', except: ['1.2'] };
  peer.send([send, { type: 'ack', seqs: [1] }, subscribe]);
  peer.send([{ type: 'ack', seqs: [2] }]);
  peer.send([publish]);
  peer.send([{ type: 'retired' }]);
  await waiter.until(() => batches.length === 4, () => JSON.stringify(batches));
  await waiter.nothingWithin(20, () => batches.length, () => JSON.stringify(batches));
  expect(batches).toEqual([[send, subscribe], [], [publish], []]);
  // The ack-only batch was taken before its (empty) onBatch: the worker sees the new count there.
  expect(l.heldCount).toBe(0);
  expect(l.state).toBe('down');
});

test('malformed messages from the service are counted and not passed on', async () => {
  const { link: l, batches, waiter } = link();
  const { peer: peer } = await instance(l, 'a');
  const good: ServiceToWorker = { type: 'send', id: '1.1', data: 'ok' };
  peer.send([{ type: 'send', id: '1.1' }, good, { type: 'bogus' }, 7]);
  peer.writeRaw('this is not json\n');
  peer.send({ type: 'send', id: '1.1', data: 'not in a batch' });
  peer.send([{ type: 'ack', seqs: ['1'] }]);
  peer.send([good]);
  await waiter.until(() => batches.length === 4, () => JSON.stringify(batches));
  await waiter.nothingWithin(20, () => batches.length, () => JSON.stringify(batches));
  // Lines that parsed are batches, even when nothing in them passed; a line that did not parse is not.
  expect(batches).toEqual([[good], [], [], [good]]);
  expect(l.rejectedMessages).toBe(6);
  expect(l.state).toBe('up');
});

test('a flood of malformed messages and unreadable lines from the service: all counted, one warning line each', async () => {
  const logger = recordingLogger();
  const { link: l, batches, waiter } = link(LIMITS, logger.log);
  const { peer } = await instance(l, 'a');
  for (let i = 0; i < 200; i++) {
    peer.send([{ type: 'bogus', i }]);
    peer.writeRaw('not json\n');
  }
  peer.send([{ type: 'send', id: '1.1', data: 'last' }]);
  await waiter.until(() => batches.length === 201, () => `${batches.length} batches`);
  expect(l.rejectedMessages).toBe(400);
  expect(logger.warnings('malformed messages from service ignored')).toHaveLength(1);
  expect(logger.warnings('unreadable line from service ignored')).toHaveLength(1);
  expect(l.state).toBe('up');
});

test('onInstanceGone fires when an up link\'s instance goes away (its socket closed, or it said retired), not when a connection attempt fails', async () => {
  const { link: l, gone, hooks, waiter } = link();
  // Nothing listens there: the attempt fails, and so do its retries; no instance was ever up.
  l.instanceUp(sockets.path('nobody'), SECRET);
  expect(l.state).toBe('connecting');
  // No hook reports a failed attempt: polled.
  await poll(() => l.state === 'down');
  await waiter.nothingWithin(250, () => hooks.length, () => JSON.stringify(hooks));
  expect(hooks).toEqual([]);
  const { server: a, peer: first } = await instance(l, 'a');
  expect(hooks).toEqual(['fresh']);
  // The socket closes while up.
  await first.destroy();
  await waiter.until(() => gone.length === 1, () => JSON.stringify(hooks));
  // The retry to the same instance is a new connection: fresh again.
  const second = await up(a, 1, l);
  expect(hooks).toEqual(['fresh', 'gone', 'fresh']);
  // The instance says retired: gone at once, while its socket is still open.
  second.send([{ type: 'retired' }]);
  await waiter.until(() => gone.length === 2, () => JSON.stringify(hooks));
  expect(l.state).toBe('down');
  expect(second.isClosed).toBe(false);
  // Its socket closing afterwards is not a second departure, nor are failed retries to it.
  await a.close();
  await waiter.nothingWithin(250, () => hooks.length, () => JSON.stringify(hooks));
  expect(hooks).toEqual(['fresh', 'gone', 'fresh', 'gone']);
});

test('end() lets what was queued reach the service, then ends the link for good', async () => {
  const { link: l } = link();
  const { server: a, peer: peer } = await instance(l, 'a');
  l.connect(info('1.1'));
  l.message('1.1', 'last words', false, undefined);
  l.closed('1.1', 1001, 'worker stopping');
  l.end();
  await peer.until(() => peer.ended);
  expect(peer.messages.slice(1)).toEqual([
    { type: 'connect', client: info('1.1'), seq: 1 },
    { type: 'message', id: '1.1', seq: 2, data: 'last words' },
    { type: 'closed', id: '1.1', code: 1001, reason: 'worker stopping', seq: 3 },
  ]);
  await peer.destroy();
  // Ended for good: no retry, and no events taken.
  await a.expectNoConnectionWithin(250);
  expect(a.peers).toHaveLength(1);
  expect(l.connect(info('1.2'))).toBe('failed');
  expect(l.message('1.1', 'x', false, undefined)).toBe('failed');
});

test('end() after drained() delivers everything too', async () => {
  const { link: l } = link();
  const { peer: peer } = await instance(l, 'a');
  l.connect(info('1.1'));
  await l.drained();
  l.end();
  await peer.until(() => peer.ended);
  expect(peer.messages).toEqual([HELLO, { type: 'connect', client: info('1.1'), seq: 1 }]);
});

test('a request goes out while the service is up', async () => {
  const { link: l } = link();
  const { peer: peer } = await instance(l, 'a');
  const fields = { rid: '1.5', method: 'POST', path: '/x', query: { a: 'b' }, headers: {}, data: 'body' };
  expect(l.request(fields)).toBe(true);
  await peer.untilMessages(2);
  expect(peer.messages[1]).toEqual({ type: 'request', ...fields });
  // Requests are not sequenced nor kept.
  expect(l.heldCount).toBe(0);
  l.connect(info('1.1'));
  await peer.untilMessages(3);
  expect(peer.messages[2]).toEqual({ type: 'connect', client: info('1.1'), seq: 1 });
});


/** Resolves once the link is in `state`: reached through a transition that fires a hook (an up link's instance went away). */
function waitForState(subject: ServiceLink, state: ServiceLink['state']): Promise<void> {
  return (waiters.get(subject) as Waiter).until(() => subject.state === state, () => `link ${subject.state}`);
}

describe('quarantine: an event that went down with maxDeliveries instances is not replayed again', () => {
  const TWICE: LinkLimits = { ...LIMITS, maxDeliveries: 2 };

  /** The instance behind `server` dies (its socket closes) and the link notices. */
  async function dies(subject: ServiceLink, server: LineServer): Promise<void> {
    await server.close();
    await waitForState(subject, 'down');
  }

  test('the poison and everything its client has are dropped, its client is named once, others are replayed; what it sends later is dropped, its close is reported', async () => {
    const logger = recordingLogger('warn');
    const { link: l, hooks } = link(TWICE, logger.log);
    const { server: a, peer: peerA } = await instance(l, 'a');
    l.connect(info('1.1'));
    l.connect(info('1.2'));
    await peerA.untilMessages(3);
    await acked(l, peerA, [1, 2], 0);
    l.message('1.1', 'poison', false, undefined);
    l.message('1.1', 'behind it', false, undefined);
    l.message('1.2', 'bystander', false, undefined);
    await peerA.untilMessages(6);
    await dies(l, a);
    expect(hooks).toEqual(['fresh', 'gone']);
    // The first death: everything is replayed, marked.
    const { server: b, peer: peerB } = await instance(l, 'b');
    await peerB.untilMessages(6);
    expect(peerB.messages.slice(3)).toEqual([
      { type: 'message', id: '1.1', seq: 3, data: 'poison', redelivered: true },
      { type: 'message', id: '1.1', seq: 4, data: 'behind it', redelivered: true },
      { type: 'message', id: '1.2', seq: 5, data: 'bystander', redelivered: true },
    ]);
    // B handles the bystander's message, then dies of the poison: its second delivery.
    await acked(l, peerB, [5], 2);
    await dies(l, b);
    // Named before the link reports the instance gone, and before anything is replayed.
    expect(hooks).toEqual(['fresh', 'gone', 'fresh', `quarantined 1.1 at ${path.basename(b.path)}`, 'gone']);
    expect(l.heldCount).toBe(0);
    expect(l.quarantinedClients).toBe(1);
    expect(logger.warnings('client event quarantined: every instance it was delivered to died; its client is closed with 1011')).toEqual([
      expect.objectContaining({ service: 'echo', client: '1.1', event: 'message', deliveries: 2, dropped: 2 }),
    ]);
    // Sent before the client got its 1011: dropped too. Its close is reported (the service knows it).
    expect(l.message('1.1', 'too late', false, undefined)).toBe('ok');
    expect(l.heldCount).toBe(0);
    l.closed('1.1', 1011, 'message quarantined');
    l.message('1.2', 'still served', false, undefined);
    const { peer: peerC } = await instance(l, 'c');
    await peerC.untilMessages(5);
    await peerC.expectNothingWithin(20);
    expect(peerC.messages).toEqual([
      HELLO,
      { type: 'connect', client: info('1.1'), resumed: true },
      { type: 'connect', client: info('1.2'), resumed: true },
      { type: 'closed', id: '1.1', code: 1011, reason: 'message quarantined', seq: 6 },
      { type: 'message', id: '1.2', seq: 7, data: 'still served' },
    ]);
  });

  test('an instance that retired does not count as a delivery', async () => {
    const { link: l, hooks } = link(TWICE);
    const { server: a, peer: peerA } = await instance(l, 'a');
    l.connect(info('1.1'));
    await peerA.untilMessages(2);
    await acked(l, peerA, [1], 0);
    l.message('1.1', 'slow', false, undefined);
    await peerA.untilMessages(3);
    peerA.send([{ type: 'retired' }]);
    await waitForState(l, 'down');
    await a.close();
    const { server: b, peer: peerB } = await instance(l, 'b');
    await peerB.untilMessages(3);
    await dies(l, b);
    const { peer: peerC } = await instance(l, 'c');
    await peerC.untilMessages(3);
    expect(peerC.messages[2]).toEqual({ type: 'message', id: '1.1', seq: 2, data: 'slow', redelivered: true });
    expect(hooks.filter((hook) => hook.startsWith('quarantined'))).toEqual([]);
  });

  test('a poison connect: its client is named, and its close is not reported (no instance knew it)', async () => {
    const { link: l, hooks } = link(TWICE);
    const { server: a, peer: peerA } = await instance(l, 'a');
    l.connect(info('1.1'));
    l.message('1.1', 'hello', false, undefined);
    await peerA.untilMessages(3);
    await dies(l, a);
    const { server: b, peer: peerB } = await instance(l, 'b');
    await peerB.untilMessages(3);
    await dies(l, b);
    expect(hooks.filter((hook) => hook.startsWith('quarantined'))).toEqual([`quarantined 1.1 at ${path.basename(b.path)}`]);
    l.closed('1.1', 1011, 'message quarantined');
    expect(l.heldCount).toBe(0);
    const { peer: peerC } = await instance(l, 'c');
    await peerC.expectNothingWithin(50);
    expect(peerC.messages).toEqual([HELLO]);
  });

  test('a poison close: dropped, and its client, already gone, is not resumed by the next instance', async () => {
    const { link: l, hooks } = link(TWICE);
    const { server: a, peer: peerA } = await instance(l, 'a');
    l.connect(info('1.1'));
    await peerA.untilMessages(2);
    await acked(l, peerA, [1], 0);
    l.closed('1.1', 1000, 'bye');
    await peerA.untilMessages(3);
    await dies(l, a);
    const { server: b, peer: peerB } = await instance(l, 'b');
    await peerB.untilMessages(3);
    await dies(l, b);
    // Nothing to close, but the instance that died of it is named (its crashes were the event's).
    expect(hooks.filter((hook) => hook.startsWith('quarantined'))).toEqual([`quarantined  at ${path.basename(b.path)}`]);
    expect(l.quarantinedClients).toBe(1);
    const { peer: peerC } = await instance(l, 'c');
    await peerC.expectNothingWithin(50);
    expect(peerC.messages).toEqual([HELLO]);
  });
});

describe('liveness: what the link reports for /readyz', () => {
  let now = 1_000_000;
  beforeEach(() => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  test('up or not and since when; while up with events unacknowledged, since when nothing was acknowledged', async () => {
    const created = now;
    const { link: l, gone, waiter } = link();
    expect(l.liveness).toEqual({ up: false, since: created });
    // Held while down: not the instance's to acknowledge, so no waiting clock yet.
    now += 100;
    expect(l.connect(info('1.1'))).toBe('ok');
    expect(l.liveness).toEqual({ up: false, since: created });
    now += 100;
    const upAt = now;
    const { peer } = await instance(l, 'a');
    // What was held waits from when the link came up.
    expect(l.liveness).toEqual({ up: true, since: upAt, waitingSince: upAt });
    now += 500;
    expect(l.message('1.1', 'a', false, undefined)).toBe('ok');
    expect(l.liveness.waitingSince).toBe(upAt);
    // An acknowledgement is progress: what still waits, waits from then.
    now += 300;
    const ackAt = now;
    await peer.untilMessages(3);
    await acked(l, peer, [1], 1);
    expect(l.liveness).toEqual({ up: true, since: upAt, waitingSince: ackAt });
    await acked(l, peer, [2], 0);
    expect(l.liveness).toEqual({ up: true, since: upAt });
    // The instance goes away: not up since then.
    now += 1000;
    const downAt = now;
    await peer.destroy();
    await waiter.until(() => gone.length === 1, () => 'gone');
    expect(l.liveness).toEqual({ up: false, since: downAt });
  });
});

test('resumeEnd follows the hello and the resumed connects on each new connection, before any replayed or new event', async () => {
  const own = new SocketDir();
  try {
    const { link: l } = link();
    const a = await own.server('a');
    l.instanceUp(a.path, SECRET);
    const peerA = await a.peer(0);
    // Nothing to resume: the hello and the end of the resumes, at once.
    await peerA.untilMessages(2);
    expect(peerA.messages).toEqual([HELLO, { type: 'resumeEnd' }]);
    l.connect(info('1.1'));
    await peerA.untilMessages(3);
    await acked(l, peerA, [1], 0);
    l.message('1.1', 'in flight', false, undefined);
    await peerA.untilMessages(4);
    await a.close();
    await waitForState(l, 'down');
    l.message('1.1', 'held', false, undefined);
    const b = await own.server('b');
    l.instanceUp(b.path, SECRET);
    const peerB = await b.peer(0);
    await peerB.untilMessages(5);
    await peerB.expectNothingWithin(20);
    expect(peerB.messages).toEqual([
      HELLO,
      { type: 'connect', client: info('1.1'), resumed: true },
      { type: 'resumeEnd' },
      { type: 'message', id: '1.1', seq: 2, data: 'in flight', redelivered: true },
      { type: 'message', id: '1.1', seq: 3, data: 'held' },
    ]);
  } finally {
    await own.close();
  }
});

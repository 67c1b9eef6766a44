import pino from 'pino';
import type { IpcLimits } from '../../src/child-env';
import type { Logger } from '../../src/logger';
import type { ClientInfo, ServiceToWorker, WorkerToService } from '../../src/protocol';
import { encodeBatch, writeBytes } from '../../src/ipc/link-codec';
import { LinkServer, type LinkServerOptions } from '../../src/services/link-server';
import { LinePeer, SocketDir, TEST_LINK_KEY, Waiter, helloFor, poll } from '../helpers/line-peer';
import { recordingLogger } from '../helpers/recording-logger';

const silent = pino({ level: 'silent' });
const info = (id: string): ClientInfo => ({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' });
const LIMITS: IpcLimits = { maxMessages: 100, maxBytes: 1 << 20 };

let sockets: SocketDir;
let opened: LinkServer[] = [];

beforeEach(() => {
  sockets = new SocketDir();
});

afterEach(async () => {
  for (const server of opened) server.stopListening();
  opened = [];
  await sockets.close();
});

interface Setup {
  readonly server: LinkServer;
  readonly endpoint: string;
  readonly batches: Array<[number, WorkerToService[]]>;
  readonly closed: number[];
  readonly waiter: Waiter;
  /** A worker's end of a new link. */
  worker(): Promise<LinePeer>;
}

async function setup(limits: IpcLimits = LIMITS, log: Logger = silent, options: LinkServerOptions = {}): Promise<Setup> {
  const batches: Array<[number, WorkerToService[]]> = [];
  const closed: number[] = [];
  const waiter = new Waiter();
  const server = new LinkServer(limits, log, {
    onBatch: (worker, messages) => {
      batches.push([worker, [...messages]]);
      waiter.notify();
    },
    onClosed: (worker) => {
      closed.push(worker);
      waiter.notify();
    },
  }, options);
  opened.push(server);
  // What the master sends a new instance first: its key and the live workers.
  server.fromMaster({ type: 'linkKey', key: TEST_LINK_KEY, workers: [1, 2, 3, 4] });
  const endpoint = sockets.path('service');
  await server.listen(endpoint);
  return {
    server,
    endpoint,
    batches,
    closed,
    waiter,
    worker: async () => new LinePeer(await sockets.connect(endpoint)),
  };
}

/** Waits until the service has linked `worker` (its hello was read; no hook reports it). */
async function linked(s: Setup, worker: number): Promise<void> {
  await poll(() => [...s.server.workers()].includes(worker));
}


describe('a link without a valid hello is destroyed', () => {
  const message = { type: 'message', id: '1.1', seq: 1, data: 'x' };
  test.each<[string, string]>([
    ['a first message that is not a hello', JSON.stringify([{ type: 'connect', client: info('1.1'), seq: 1 }, message])],
    ['a hello with an invalid worker id', JSON.stringify([{ type: 'hello', worker: -1 }])],
    ['a hello without a worker id', JSON.stringify([{ type: 'hello' }])],
    ['a first line that is not a batch', JSON.stringify(helloFor(1))],
    ['a first line that is not JSON', 'hello'],
    ['a hello after another message in the first batch', JSON.stringify([{ type: 'closed', id: '1.1', code: 1000, reason: '', seq: 2 }, helloFor(1), message])],
  ])('%s', async (_name, line) => {
    const s = await setup();
    const peer = await s.worker();
    peer.writeRaw(`${line}\n`);
    await peer.until(() => peer.isClosed);
    await s.waiter.nothingWithin(20, () => [s.batches, s.closed], () => JSON.stringify([s.batches, s.closed]));
    expect(s.server.size).toBe(0);
    expect(s.batches).toEqual([]);
    expect(s.closed).toEqual([]);
    // The worker id the refused link named is still free.
    const good = await s.worker();
    good.send([helloFor(1), message]);
    await s.waiter.until(() => s.batches.length === 1, () => JSON.stringify(s.batches));
    expect(s.batches).toEqual([[1, [message]]]);
  });
});

test('a connection that sends no hello (or only part of one) within the hello deadline is closed and counted; a worker that links in time stays', async () => {
  const s = await setup(LIMITS, silent, { helloTimeoutMs: 200 });
  const silentPeer = await s.worker();
  const partial = await s.worker();
  partial.writeRaw('[{"type":"hello","wor');
  const good = await s.worker();
  good.send([helloFor(1)]);
  await linked(s, 1);
  await Promise.all([silentPeer.closed, partial.closed]);
  expect(s.server.refusedLinks).toBe(2);
  expect(good.isClosed).toBe(false);
  expect([...s.server.workers()]).toEqual([1]);
});

test('a second hello for a worker already linked is refused; the first link stays', async () => {
  const s = await setup();
  const first = await s.worker();
  first.send([helloFor(1)]);
  await linked(s, 1);
  const second = await s.worker();
  second.send([helloFor(1), { type: 'connect', client: info('1.9'), seq: 1 }]);
  await second.until(() => second.isClosed);
  await s.waiter.nothingWithin(20, () => [s.batches, s.closed], () => JSON.stringify([s.batches, s.closed]));
  expect(first.isClosed).toBe(false);
  expect(s.server.size).toBe(1);
  expect(s.closed).toEqual([]);
  expect(s.batches).toEqual([]);
  // What goes to worker 1 goes on the first link.
  expect(s.server.send(1, { type: 'send', id: '1.1', data: 'still here' })).toBe(true);
  await first.untilMessages(1);
  expect(first.messages).toEqual([{ type: 'send', id: '1.1', data: 'still here' }]);
  const close: WorkerToService = { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 1 };
  first.send([close]);
  await s.waiter.until(() => s.batches.length === 1, () => JSON.stringify(s.batches));
  expect(s.batches).toEqual([[1, [close]]]);
});

test('onBatch gets the messages after the hello, in order, never a hello', async () => {
  const s = await setup();
  const peer = await s.worker();
  const connect: WorkerToService = { type: 'connect', client: info('3.1'), seq: 9 };
  const m1: WorkerToService = { type: 'message', id: '3.1', seq: 1, data: 'a' };
  const m2: WorkerToService = { type: 'message', id: '3.1', seq: 2, data: Buffer.from([1, 0x0a, 2]), binary: true, redelivered: true };
  const close: WorkerToService = { type: 'closed', id: '3.1', code: 1001, reason: 'away', seq: 10 };
  const resumed: WorkerToService = { type: 'connect', client: info('3.2'), resumed: true };
  peer.send([helloFor(3), connect, m1]);
  // A binary payload travels as a raw segment after the line (link-codec.ts), its newline byte included.
  peer.writeRaw(writeBytes(encodeBatch([helloFor(3), m2])));
  peer.send([helloFor(4)]);
  // A connect with neither seq nor `resumed`, and a `closed` without seq, fail the guard.
  peer.send([{ type: 'bogus' }, { type: 'connect', client: info('3.3') }, resumed, { type: 'closed', id: '3.2', code: 1000, reason: '' }, close]);
  await s.waiter.until(() => s.batches.length === 3, () => JSON.stringify(s.batches));
  await s.waiter.nothingWithin(20, () => s.batches.length, () => JSON.stringify(s.batches));
  expect(s.batches).toEqual([
    [3, [connect, m1]],
    [3, [m2]],
    [3, [resumed, close]],
  ]);
  expect(s.server.rejectedMessages).toBe(3);
  expect([...s.server.workers()]).toEqual([3]);
});

test('a raw segment length that is not a byte count, or past the bound, cuts the link with a logged reason; other links stay', async () => {
  const { log, lines } = recordingLogger();
  const s = await setup(LIMITS, log);
  const good = await s.worker();
  good.send([helloFor(1)]);
  await linked(s, 1);
  for (const [worker, raw] of [[2, -5], [3, 2 ** 40]] as const) {
    const peer = await s.worker();
    peer.send([helloFor(worker)]);
    await linked(s, worker);
    peer.writeRaw(`[{"type":"message","id":"${worker}.1","seq":1,"raw":${raw}}]\n`);
    await peer.closed;
    await poll(() => s.closed.includes(worker));
  }
  expect(lines.filter((line) => line.msg === 'worker sent a bad raw segment length; link cut').map((line) => line.worker)).toEqual([2, 3]);
  expect(s.batches).toEqual([]);
  expect([...s.server.workers()]).toEqual([1]);
});

test('onClosed fires with the worker id when its link closes; allClosed resolves when the last one has', async () => {
  const s = await setup();
  await expect(s.server.allClosed()).resolves.toBeUndefined();
  const one = await s.worker();
  const two = await s.worker();
  one.send([helloFor(1)]);
  two.send([helloFor(2)]);
  await linked(s, 1);
  await linked(s, 2);
  let allClosed = false;
  const waiting = s.server.allClosed().then(() => {
    allClosed = true;
  });
  one.socket.end();
  await s.waiter.until(() => s.closed.length === 1, () => JSON.stringify(s.closed));
  expect(s.closed).toEqual([1]);
  await s.waiter.nothingWithin(20, () => allClosed, () => 'allClosed resolved with a link still open');
  expect(allClosed).toBe(false);
  expect(s.server.size).toBe(1);
  expect(s.server.send(1, { type: 'ack', seqs: [1] })).toBe(false);
  await two.destroy();
  await waiting;
  expect(s.closed).toEqual([1, 2]);
  expect(s.server.size).toBe(0);
});

test('a link that never said hello closing fires no onClosed and does not hold allClosed', async () => {
  const s = await setup();
  const linkedPeer = await s.worker();
  linkedPeer.send([helloFor(1)]);
  await linked(s, 1);
  const silentPeer = await s.worker();
  const waiting = s.server.allClosed();
  await linkedPeer.destroy();
  await waiting;
  await silentPeer.destroy();
  await s.waiter.nothingWithin(20, () => s.closed.length, () => JSON.stringify(s.closed));
  expect(s.closed).toEqual([1]);
});

test('send() to a worker with no link returns false', async () => {
  const s = await setup();
  expect(s.server.send(7, { type: 'send', id: '7.1', data: 'x' })).toBe(false);
  expect(s.server.send(7, { type: 'ack', seqs: [1] })).toBe(false);
});

test('a full queue drops messages that may be lost, and keeps acks, topic changes, closes, answers and retired', async () => {
  const s = await setup({ maxMessages: 2, maxBytes: 1 << 20 });
  const peer = await s.worker();
  peer.send([helloFor(1)]);
  await linked(s, 1);
  const kept: ServiceToWorker[] = [
    { type: 'send', id: '1.1', data: 'first' },
    { type: 'broadcast', data: 'second' },
    { type: 'ack', seqs: [1, 2] },
    { type: 'subscribe', id: '1.1', topic: 't' },
    { type: 'unsubscribe', id: '1.1', topic: 't' },
    { type: 'closeClient', id: '1.1', code: 4000, reason: 'bye' },
    { type: 'response', rid: '1.2', status: 200, headers: {}, data: '' },
    { type: 'retired' },
  ];
  // All in one turn: the queue holds them until its next write, so its bound applies.
  expect(s.server.send(1, kept[0] as ServiceToWorker)).toBe(true);
  expect(s.server.send(1, kept[1] as ServiceToWorker)).toBe(true);
  expect(s.server.send(1, { type: 'send', id: '1.1', data: 'dropped' })).toBe(false);
  expect(s.server.send(1, { type: 'publish', topic: 't', data: 'dropped' })).toBe(false);
  expect(s.server.send(1, { type: 'broadcast', data: 'dropped' })).toBe(false);
  for (const message of kept.slice(2)) expect(s.server.send(1, message)).toBe(true);
  expect(s.server.dropped).toBe(3);
  await peer.untilMessages(kept.length);
  await s.server.drained();
  await peer.expectNothingWithin(20);
  expect(peer.messages).toEqual(kept);
  // Once written, the queue takes messages again.
  expect(s.server.send(1, { type: 'send', id: '1.1', data: 'later' })).toBe(true);
  await peer.untilMessages(kept.length + 1);
});

test('floods of malformed messages, unreadable lines and hello-less links: all counted or refused, one warning line each', async () => {
  const logger = recordingLogger();
  const s = await setup(LIMITS, logger.log);
  const peer = await s.worker();
  peer.send([helloFor(1)]);
  await linked(s, 1);
  for (let i = 0; i < 200; i++) {
    peer.send([{ type: 'bogus', i }]);
    peer.writeRaw('not json\n');
  }
  const last: WorkerToService = { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 1 };
  peer.send([last]);
  await s.waiter.until(() => s.batches.length === 1, () => JSON.stringify(s.batches));
  expect(s.batches).toEqual([[1, [last]]]);
  expect(s.server.rejectedMessages).toBe(400);
  const refused: LinePeer[] = [];
  for (let i = 0; i < 20; i++) {
    const bad = await s.worker();
    bad.writeRaw(i % 2 === 0 ? 'no hello\n' : `${JSON.stringify([helloFor(1)])}\n`);
    refused.push(bad);
  }
  await Promise.all(refused.map((bad) => bad.closed));
  expect(logger.warnings('malformed messages from worker ignored')).toHaveLength(1);
  // The ten 'no hello' lines are unreadable lines too: still one line for all of them.
  expect(logger.warnings('unreadable line from worker ignored')).toHaveLength(1);
  expect(logger.warnings('link without a valid hello refused')).toHaveLength(1);
  expect(peer.isClosed).toBe(false);
});

test('stopListening refuses new links and keeps the open ones', async () => {
  const s = await setup();
  const peer = await s.worker();
  peer.send([helloFor(1)]);
  await linked(s, 1);
  s.server.stopListening();
  await expect(sockets.connect(s.endpoint)).rejects.toMatchObject({ code: expect.stringMatching(/ENOENT|ECONNREFUSED/) });
  expect(s.server.send(1, { type: 'send', id: '1.1', data: 'x' })).toBe(true);
  await peer.untilMessages(1);
  expect(s.server.size).toBe(1);
});

describe('admission: only workers the master announced, each with its own secret', () => {
  const message: WorkerToService = { type: 'message', id: '1.1', seq: 1, data: 'x' };
  const connect: WorkerToService = { type: 'connect', client: info('1.666'), seq: 1 };

  test.each<[string, (s: Setup) => unknown, Record<string, unknown>]>([
    // Fails the protocol guard: nothing of it is trusted, not even for the log line.
    ['a hello without a secret', () => ({ type: 'hello', worker: 1 }), {}],
    ['a secret made with another key', () => helloFor(1, 'another-key'.padEnd(43, 'x')), { worker: 1, reason: 'wrong secret' }],
    ['another worker’s secret', () => ({ ...helloFor(2), worker: 1 }), { worker: 1, reason: 'wrong secret' }],
    ['a secret one character short', () => ({ ...helloFor(1), secret: helloFor(1).secret.slice(1) }), { worker: 1, reason: 'wrong secret' }],
    [
      'the secret of a worker that exited',
      (s) => {
        s.server.fromMaster({ type: 'revokeWorker', worker: 1 });
        return helloFor(1);
      },
      { worker: 1, reason: 'worker not announced' },
    ],
  ])('refused: %s; the link is closed, nothing reaches the host, the refusal is counted and logged', async (_name, hello, logged) => {
    const logger = recordingLogger();
    const s = await setup(LIMITS, logger.log);
    const peer = await s.worker();
    peer.send([hello(s), connect, message]);
    await peer.until(() => peer.isClosed);
    await s.waiter.nothingWithin(20, () => [s.batches, s.closed], () => JSON.stringify([s.batches, s.closed]));
    expect(peer.messages).toEqual([]);
    expect(s.batches).toEqual([]);
    expect(s.server.size).toBe(0);
    expect(s.server.refusedLinks).toBe(1);
    expect(logger.warnings('link without a valid hello refused')).toEqual([expect.objectContaining(logged)]);
  });

  test('a worker that exited stays refused with its own secret; the other workers link', async () => {
    const s = await setup();
    s.server.fromMaster({ type: 'revokeWorker', worker: 2 });
    const revoked = await s.worker();
    revoked.send([helloFor(2)]);
    await revoked.until(() => revoked.isClosed);
    const other = await s.worker();
    other.send([helloFor(3), { type: 'message', id: '3.1', seq: 1, data: 'x' }]);
    await s.waiter.until(() => s.batches.length === 1, () => JSON.stringify(s.batches));
    expect(s.batches).toEqual([[3, [{ type: 'message', id: '3.1', seq: 1, data: 'x' }]]]);
  });

  test('a server that has no key from the master yet refuses every link', async () => {
    const batches: unknown[] = [];
    const server = new LinkServer(LIMITS, silent, { onBatch: (worker, messages) => batches.push([worker, messages]), onClosed: () => undefined });
    opened.push(server);
    const endpoint = sockets.path('keyless');
    await server.listen(endpoint);
    const peer = new LinePeer(await sockets.connect(endpoint));
    // Whatever it presents: there is nothing to check it against.
    peer.send([helloFor(1), message]);
    await peer.until(() => peer.isClosed);
    expect(batches).toEqual([]);
    expect(server.refusedLinks).toBe(1);
  });

  test('a worker forked later links once admitted, and also when its link overtakes the admission; a lower id never announced does not', async () => {
    const s = await setup();
    // Announced after the key: worker 6.
    s.server.fromMaster({ type: 'admitWorker', worker: 6 });
    const six = await s.worker();
    six.send([helloFor(6)]);
    await linked(s, 6);
    // Worker 8's hello arrives before the master's admitWorker (another channel): its secret can only come from the master.
    const eight = await s.worker();
    eight.send([helloFor(8)]);
    await linked(s, 8);
    // 5 is below the highest id announced and was never admitted: refused even with the right secret.
    const five = await s.worker();
    five.send([helloFor(5)]);
    await five.until(() => five.isClosed);
    expect([...s.server.workers()].sort()).toEqual([6, 8]);
    expect(s.server.refusedLinks).toBe(1);
  });
});

/**
 * What a service instance sends to a worker on another node survives a reset
 * of their channel's session (an in-memory NATS here, which can drop what
 * goes one way): the service keeps the writes the session had not delivered,
 * the worker's next hello says how many it read whole, and the rest go again
 * first: every message once, in order. Where that cannot be (more was
 * unacknowledged than the link's bounds), the worker hears `sessionLost` and
 * closes its clients of that instance with 1012: never a silent loss.
 */
import type { ServiceToWorker } from '../../src/protocol';
import type { LinkServer } from '../../src/services/link-server';
import { channelLinkRig, RIG_INSTANCE, RIG_WORKER, until } from '../helpers/memory-nats';
import { recordingLogger } from '../helpers/recording-logger';

/** What a cut towards node b (the worker's) loses: everything published to it. */
const TOWARDS_WORKERS = (subject: string): boolean => subject.startsWith('c.link.b.');
const NOTHING = (): boolean => false;

const id = `${RIG_WORKER.toString(36)}.1`;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A service on node a and a worker of node b linked over a channel, the worker's client connected and acknowledged. */
async function linked(serviceLimits: { maxMessages: number; maxBytes: number }) {
  const { log, lines } = recordingLogger();
  const atWorker: ServiceToWorker[] = [];
  const closed: number[] = [];
  const rig = channelLinkRig(log, { serviceLimits, server: { onClosed: (worker) => closed.push(worker) }, onWorkerBatch: (_link, batch) => atWorker.push(...batch) });
  const { server, link } = rig;
  server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [RIG_WORKER], reason: 'worker exited' });
  link.instanceUp(RIG_INSTANCE, '');
  await until(() => link.state === 'up', 'the link up');
  expect(link.connect({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' })).toBe('ok');
  const connectSeq = link.lastSeq;
  await until(() => server.size === 1, 'the worker linked at the service');
  expect(server.send(RIG_WORKER, { type: 'ack', seqs: [connectSeq] })).toBe(true);
  await until(() => link.heldCount === 0, 'the connect acknowledged');
  return { ...rig, atWorker, closed, lines };
}

/** The texts of the `send`s the worker received, in order. */
function texts(messages: readonly ServiceToWorker[]): string[] {
  return messages.flatMap((m) => (m.type === 'send' ? [String(m.data)] : []));
}

/** Sends `send`s numbered `from` to `to`, each its own write (one per turn). */
async function sendRange(server: LinkServer, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) {
    expect(server.send(RIG_WORKER, { type: 'send', id, data: `m${n}` })).toBe(true);
    await turn();
  }
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

test('writes the ended session had not delivered, and those sent before the next hello, arrive once and in order after a reset', async () => {
  const t = await linked({ maxMessages: 100, maxBytes: 1 << 20 });
  try {
    await sendRange(t.server, 1, 5);
    await until(() => texts(t.atWorker).length === 5, 'the first five');
    // Lost on the way: the session holds them unacknowledged.
    t.bus.drop = TOWARDS_WORKERS;
    await sendRange(t.server, 6, 10);
    t.bus.drop = NOTHING;
    // The worker's end resets (as a stall would): the service hears of it and keeps what it sent; more is sent before the new hello.
    t.workerRouter.openChannels.get('a.echo-0')?.reset();
    await sendRange(t.server, 11, 15);
    await until(() => texts(t.atWorker).length >= 15, 'all fifteen');
    await sendRange(t.server, 16, 20);
    await until(() => texts(t.atWorker).length >= 20, 'all twenty');
    expect(texts(t.atWorker)).toEqual(range(1, 20));
    expect(t.atWorker.filter((m) => m.type === 'closeClient')).toEqual([]);
    expect(t.link.channelResets).toBe(1);
    expect(t.closed).toEqual([]);
  } finally {
    t.close();
  }
});

test('a write split over frames and cut by the reset goes again whole; resets at the service end too; nothing twice', async () => {
  const t = await linked({ maxMessages: 100, maxBytes: 8 << 20 });
  try {
    const big = 'x'.repeat(2.5 * 1024 * 1024);
    expect(t.server.send(RIG_WORKER, { type: 'send', id, data: big })).toBe(true);
    await turn();
    await sendRange(t.server, 1, 3);
    await until(() => texts(t.atWorker).length === 4, 'the big one and three');
    for (let round = 0; round < 3; round++) {
      t.bus.drop = TOWARDS_WORKERS;
      expect(t.server.send(RIG_WORKER, { type: 'send', id, data: `${big}${round}` })).toBe(true);
      await turn();
      await sendRange(t.server, 10 * round + 10, 10 * round + 14);
      t.bus.drop = NOTHING;
      // Either end may notice: the service's end in even rounds, the worker's in odd ones.
      if (round % 2 === 0) t.serviceRouter.openChannels.get('b.w3')?.reset();
      else t.workerRouter.openChannels.get('a.echo-0')?.reset();
      await until(() => texts(t.atWorker).length === 4 + 6 * (round + 1), `round ${round} delivered`);
    }
    const got = texts(t.atWorker);
    expect(got.map((text) => (text.length > 100 ? `big${text.slice(big.length)}` : text))).toEqual([
      'big', 'm1', 'm2', 'm3',
      'big0', 'm10', 'm11', 'm12', 'm13', 'm14',
      'big1', 'm20', 'm21', 'm22', 'm23', 'm24',
      'big2', 'm30', 'm31', 'm32', 'm33', 'm34',
    ]);
    expect(t.link.channelResets).toBe(3);
    expect(t.atWorker.filter((m) => m.type === 'closeClient')).toEqual([]);
  } finally {
    t.close();
  }
});

test('more unacknowledged at the reset than the link bounds: the worker hears sessionLost and closes its clients of the instance with 1012', async () => {
  const t = await linked({ maxMessages: 3, maxBytes: 1 << 20 });
  try {
    await sendRange(t.server, 1, 2);
    await until(() => texts(t.atWorker).length === 2, 'the first two');
    t.bus.drop = TOWARDS_WORKERS;
    await sendRange(t.server, 3, 8);
    t.bus.drop = NOTHING;
    t.workerRouter.openChannels.get('a.echo-0')?.reset();
    await until(() => t.atWorker.some((m) => m.type === 'closeClient'), 'the client closed');
    expect(t.atWorker.filter((m) => m.type === 'closeClient')).toEqual([{ type: 'closeClient', id, code: 1012, reason: 'service link lost' }]);
    expect(t.lines.some((line) => line.msg.startsWith('NATS link session lost'))).toBe(true);
    // The link goes on, on a new stream: what is sent now arrives.
    await sendRange(t.server, 9, 10);
    await until(() => texts(t.atWorker).includes('m10'), 'the link on');
    expect(texts(t.atWorker)).toEqual(['m1', 'm2', 'm9', 'm10']);
    expect(t.closed).toEqual([]);
  } finally {
    t.close();
  }
});

test("both ends drop the link (each holds the other's node dead), then link again: the stream is taken up where the worker's reading stopped", async () => {
  const t = await linked({ maxMessages: 100, maxBytes: 1 << 20 });
  try {
    await sendRange(t.server, 1, 3);
    await until(() => texts(t.atWorker).length === 3, 'the first three');
    t.bus.drop = TOWARDS_WORKERS;
    await sendRange(t.server, 4, 6);
    // The service's master holds node b dead: the host hears the worker's link closed; its stream is kept.
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [], reason: 'node lost' });
    expect(t.closed).toEqual([RIG_WORKER]);
    expect(t.server.size).toBe(0);
    // The worker's master holds node a dead, then sees it again: a new channel connection to the same instance.
    t.link.instanceDown();
    t.bus.drop = NOTHING;
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [RIG_WORKER], reason: 'node lost' });
    t.link.instanceUp(RIG_INSTANCE, '');
    await until(() => t.server.size === 1, 'the worker linked again');
    await sendRange(t.server, 7, 8);
    await until(() => texts(t.atWorker).length >= 8, 'all eight');
    expect(texts(t.atWorker)).toEqual(range(1, 8));
    expect(t.atWorker.filter((m) => m.type === 'closeClient')).toEqual([]);
  } finally {
    t.close();
  }
});

test('a worker back on a link whose stream was too much to keep hears sessionLost: its clients closed with 1012', async () => {
  const t = await linked({ maxMessages: 3, maxBytes: 1 << 20 });
  try {
    await sendRange(t.server, 1, 2);
    await until(() => texts(t.atWorker).length === 2, 'the first two');
    t.bus.drop = TOWARDS_WORKERS;
    await sendRange(t.server, 3, 8);
    // Dropped with six writes unacknowledged, past the bound of three: nothing is kept for the worker.
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [], reason: 'node lost' });
    t.link.instanceDown();
    t.bus.drop = NOTHING;
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [RIG_WORKER], reason: 'node lost' });
    t.link.instanceUp(RIG_INSTANCE, '');
    await until(() => t.atWorker.some((m) => m.type === 'closeClient'), 'the client closed');
    expect(t.atWorker.filter((m) => m.type === 'closeClient')).toEqual([{ type: 'closeClient', id, code: 1012, reason: 'service link lost' }]);
    expect(texts(t.atWorker)).toEqual(['m1', 'm2']);
  } finally {
    t.close();
  }
});

test("the instance's node alone holds the worker's node dead: the acks it sends meanwhile are kept, and the worker, told by a reset, links again and gets them", async () => {
  const t = await linked({ maxMessages: 100, maxBytes: 1 << 20 });
  try {
    expect(t.link.message(id, 'one', false, undefined)).toBe('ok');
    const seq = t.link.lastSeq;
    // Dropped (the host hears the worker's clients closed) while that message's handler runs; its ack comes after.
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [], reason: 'node lost' });
    expect(t.closed).toEqual([RIG_WORKER]);
    expect(t.server.send(RIG_WORKER, { type: 'ack', seqs: [seq] })).toBe(true);
    expect(t.server.send(RIG_WORKER, { type: 'send', id, data: 'm1' })).toBe(true);
    // The worker's side saw nothing wrong; its node is listed again.
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [RIG_WORKER], reason: 'node lost' });
    await until(() => t.link.heldCount === 0, 'the ack at the worker');
    await until(() => texts(t.atWorker).includes('m1'), 'm1 at the worker');
    expect(t.server.size).toBe(1);
    expect(t.atWorker.filter((m) => m.type === 'closeClient')).toEqual([]);
  } finally {
    t.close();
  }
});

test("what the instance queued for the worker before dropping it (an ack, an answer) goes ahead of the reset, not a hello's round trip later", async () => {
  const t = await linked({ maxMessages: 100, maxBytes: 1 << 20 });
  try {
    expect(t.link.message(id, 'one', false, undefined)).toBe('ok');
    const seq = t.link.lastSeq;
    await until(() => t.link.isPending(seq) && t.server.size === 1, 'the message at the service');
    // The handler answered and settled; its answer and ack wait in the queue when, in the same turn, the master's drop arrives.
    expect(t.server.send(RIG_WORKER, { type: 'send', id, data: 'm1' })).toBe(true);
    expect(t.server.send(RIG_WORKER, { type: 'ack', seqs: [seq] })).toBe(true);
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [], reason: 'node lost' });
    // The worker's node stays unlisted here, so its next hello waits: only the ending session can have carried them.
    await until(() => t.link.heldCount === 0, 'the ack at the worker');
    expect(texts(t.atWorker)).toEqual(['m1']);
    // Back: the stream goes on (nothing resent, nothing lost).
    t.server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [RIG_WORKER], reason: 'node lost' });
    await until(() => t.server.size === 1, 'the worker linked again');
    expect(t.server.send(RIG_WORKER, { type: 'send', id, data: 'm2' })).toBe(true);
    await until(() => texts(t.atWorker).includes('m2'), 'm2 at the worker');
    expect(texts(t.atWorker)).toEqual(['m1', 'm2']);
    expect(t.atWorker.filter((m) => m.type === 'closeClient')).toEqual([]);
  } finally {
    t.close();
  }
});

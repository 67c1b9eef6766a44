/**
 * A worker's link to an instance on another node, over a reliable channel
 * (an in-memory NATS here): the same hello, events and acks as over a
 * socket; a reset of the channel's session is a reconnect, not a death —
 * the worker re-hellos, resumes its clients and replays what is
 * unacknowledged, marked redelivered, and the service side keeps the
 * worker's link (no `onClosed`).
 */
import { clusterLinkId } from '../../src/client-id';
import { ChannelRouter } from '../../src/nats/channel-router';
import { formatRemoteEndpoint } from '../../src/nats/process-router';
import type { WorkerToService } from '../../src/protocol';
import { LinkServer } from '../../src/services/link-server';
import { ServiceLink, type ServiceLinkHooks } from '../../src/worker/service-link';
import { MemoryNats, until } from '../helpers/memory-nats';
import { recordingLogger } from '../helpers/recording-logger';

const nodes = ['a', 'b'];
const workerLinkId = clusterLinkId(1, 3);

test('events cross a channel link; a session reset replays (resumed, then redelivered) and the service keeps the link', async () => {
  const bus = new MemoryNats();
  const { log } = recordingLogger();
  const received: WorkerToService[] = [];
  const closed: number[] = [];
  const server = new LinkServer({ maxMessages: 100, maxBytes: 1 << 20 }, log, { onBatch: (_worker, messages) => received.push(...messages), onClosed: (worker) => closed.push(worker) });
  const serviceRouter = new ChannelRouter(bus.port(), {
    cluster: 'c',
    node: 'a',
    nodes,
    endpoint: 'echo-0',
    accept: (peer, endpoint) => server.acceptChannel(peer, endpoint, (from, _e, worker) => from === 'b' && worker === workerLinkId),
  }, log);
  const workerRouter = new ChannelRouter(bus.port(), { cluster: 'c', node: 'b', nodes, endpoint: 'w3' }, log);
  const hooks: ServiceLinkHooks = { onBatch: () => undefined, onInstanceGone: () => undefined, onFreshInstance: () => undefined, onQuarantined: () => undefined };
  const link = new ServiceLink('echo', workerLinkId, { maxMessages: 100, maxBytes: 1 << 20, maxDeliveries: 3 }, log, hooks, 0, 'echo', () => Promise.resolve(workerRouter));
  // The master relays node b's heartbeats: this worker is live there.
  server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [workerLinkId], reason: 'worker exited' });
  try {
    link.instanceUp(formatRemoteEndpoint('a', 'echo-0', 42), '');
    await until(() => link.state === 'up', 'the link up');
    const id = `${workerLinkId.toString(36)}.1`;
    expect(link.connect({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' })).toBe('ok');
    const connectSeq = link.lastSeq;
    expect(link.message(id, 'one', false, undefined)).toBe('ok');
    await until(() => received.some((m) => m.type === 'message'), 'the message at the service');
    expect(received.map((m) => m.type)).toEqual(['resumeEnd', 'connect', 'message']);
    // The service acknowledges the connect only: the message stays unacknowledged.
    expect(server.send(workerLinkId, { type: 'ack', seqs: [connectSeq] })).toBe(true);
    await until(() => link.heldCount === 1, 'the connect acknowledged');

    received.length = 0;
    workerRouter.openChannels.get('a.echo-0')?.reset();
    await until(() => received.some((m) => m.type === 'message'), 'the replay');
    expect(received).toEqual([
      { type: 'connect', client: expect.objectContaining({ id }), resumed: true },
      { type: 'resumeEnd' },
      expect.objectContaining({ type: 'message', id, data: 'one', redelivered: true }),
    ]);
    expect(link.channelResets).toBe(1);
    expect(closed).toEqual([]);
    expect(server.size).toBe(1);
  } finally {
    link.end();
    workerRouter.close();
    serviceRouter.close();
  }
});

test('a hello from a worker its node does not run (or from a node held dead) is refused: nothing reaches the service', async () => {
  const bus = new MemoryNats();
  const { log } = recordingLogger();
  const received: WorkerToService[] = [];
  // A hello for a worker its node's heartbeat does not list waits for it up to the hello deadline, then is refused.
  const server = new LinkServer({ maxMessages: 100, maxBytes: 1 << 20 }, log, { onBatch: (_worker, messages) => received.push(...messages), onClosed: () => undefined }, { helloTimeoutMs: 300 });
  server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [], reason: 'node lost' });
  const serviceRouter = new ChannelRouter(bus.port(), {
    cluster: 'c',
    node: 'a',
    nodes,
    endpoint: 'echo-0',
    accept: (peer, endpoint) => server.acceptChannel(peer, endpoint, (from, _e, worker) => from === 'b' && worker === workerLinkId),
  }, log);
  const workerRouter = new ChannelRouter(bus.port(), { cluster: 'c', node: 'b', nodes, endpoint: 'w3' }, log);
  const hooks: ServiceLinkHooks = { onBatch: () => undefined, onInstanceGone: () => undefined, onFreshInstance: () => undefined, onQuarantined: () => undefined };
  const link = new ServiceLink('echo', workerLinkId, { maxMessages: 100, maxBytes: 1 << 20, maxDeliveries: 3 }, log, hooks, 0, 'echo', () => Promise.resolve(workerRouter));
  try {
    link.instanceUp(formatRemoteEndpoint('a', 'echo-0', 42), '');
    await until(() => server.refusedLinks > 0, 'the hello refused');
    expect(received).toEqual([]);
    expect(server.size).toBe(0);
  } finally {
    link.end();
    workerRouter.close();
    serviceRouter.close();
  }
});

test("a hello that comes before its node's heartbeat lists the worker waits for it (no warning), then the link goes on with what followed", async () => {
  const bus = new MemoryNats();
  const { log, lines } = recordingLogger();
  const received: WorkerToService[] = [];
  const server = new LinkServer({ maxMessages: 100, maxBytes: 1 << 20 }, log, { onBatch: (_worker, messages) => received.push(...messages), onClosed: () => undefined });
  const serviceRouter = new ChannelRouter(bus.port(), {
    cluster: 'c',
    node: 'a',
    nodes,
    endpoint: 'echo-0',
    accept: (peer, endpoint) => server.acceptChannel(peer, endpoint, (from, _e, worker) => from === 'b' && worker === workerLinkId),
  }, log);
  const workerRouter = new ChannelRouter(bus.port(), { cluster: 'c', node: 'b', nodes, endpoint: 'w3' }, log);
  const hooks: ServiceLinkHooks = { onBatch: () => undefined, onInstanceGone: () => undefined, onFreshInstance: () => undefined, onQuarantined: () => undefined };
  const link = new ServiceLink('echo', workerLinkId, { maxMessages: 100, maxBytes: 1 << 20, maxDeliveries: 3 }, log, hooks, 0, 'echo', () => Promise.resolve(workerRouter));
  try {
    link.instanceUp(formatRemoteEndpoint('a', 'echo-0', 42), '');
    await until(() => lines.some((line) => line.msg.startsWith('channel hello waits')), 'the hello waiting');
    const id = `${workerLinkId.toString(36)}.1`;
    expect(link.connect({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' })).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toEqual([]);
    // Node b's heartbeat, relayed by the master, lists the worker now.
    server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [workerLinkId], reason: 'worker exited' });
    await until(() => received.some((m) => m.type === 'connect'), 'the connect at the service');
    expect(received.map((m) => m.type)).toEqual(['resumeEnd', 'connect']);
    expect(server.size).toBe(1);
    expect(server.refusedLinks).toBe(0);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
  } finally {
    link.end();
    workerRouter.close();
    serviceRouter.close();
  }
});

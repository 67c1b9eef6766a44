/**
 * A worker's link to an instance on another node, over a reliable channel
 * (an in-memory NATS here): the same hello, events and acks as over a
 * socket; a reset of the channel's session is a reconnect, not a death —
 * the worker re-hellos, resumes its clients and replays what is
 * unacknowledged, marked redelivered, and the service side keeps the
 * worker's link (no `onClosed`).
 */
import type { WorkerToService } from '../../src/protocol';
import { channelLinkRig, RIG_INSTANCE, RIG_WORKER, until } from '../helpers/memory-nats';
import { recordingLogger } from '../helpers/recording-logger';

test('events cross a channel link; a session reset replays (resumed, then redelivered) and the service keeps the link', async () => {
  const { log } = recordingLogger();
  const received: WorkerToService[] = [];
  const closed: number[] = [];
  const { server, link, workerRouter, close } = channelLinkRig(log, { server: { onBatch: (_worker, messages) => received.push(...messages), onClosed: (worker) => closed.push(worker) } });
  // The master relays node b's heartbeats: this worker is live there.
  server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [RIG_WORKER], reason: 'worker exited' });
  try {
    link.instanceUp(RIG_INSTANCE, '');
    await until(() => link.state === 'up', 'the link up');
    const id = `${RIG_WORKER.toString(36)}.1`;
    expect(link.connect({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' })).toBe('ok');
    const connectSeq = link.lastSeq;
    expect(link.message(id, 'one', false, undefined)).toBe('ok');
    await until(() => received.some((m) => m.type === 'message'), 'the message at the service');
    expect(received.map((m) => m.type)).toEqual(['resumeEnd', 'connect', 'message']);
    // The service acknowledges the connect only: the message stays unacknowledged.
    expect(server.send(RIG_WORKER, { type: 'ack', seqs: [connectSeq] })).toBe(true);
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
    close();
  }
});

test('a hello from a worker its node does not run (or from a node held dead) is refused: nothing reaches the service', async () => {
  const { log } = recordingLogger();
  const received: WorkerToService[] = [];
  // A hello for a worker its node's heartbeat does not list waits for it up to the hello deadline, then is refused.
  const { server, link, close } = channelLinkRig(log, { server: { onBatch: (_worker, messages) => received.push(...messages) }, serverOptions: { helloTimeoutMs: 300 } });
  server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [], reason: 'node lost' });
  try {
    link.instanceUp(RIG_INSTANCE, '');
    await until(() => server.refusedLinks > 0, 'the hello refused');
    expect(received).toEqual([]);
    expect(server.size).toBe(0);
  } finally {
    close();
  }
});

test("a hello that comes before its node's heartbeat lists the worker waits for it (no warning), then the link goes on with what followed", async () => {
  const { log, lines } = recordingLogger();
  const received: WorkerToService[] = [];
  const { server, link, close } = channelLinkRig(log, { server: { onBatch: (_worker, messages) => received.push(...messages) } });
  try {
    link.instanceUp(RIG_INSTANCE, '');
    await until(() => lines.some((line) => line.msg.startsWith('channel hello waits')), 'the hello waiting');
    const id = `${RIG_WORKER.toString(36)}.1`;
    expect(link.connect({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' })).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toEqual([]);
    // Node b's heartbeat, relayed by the master, lists the worker now.
    server.fromMaster({ type: 'remoteWorkers', node: 'b', workers: [RIG_WORKER], reason: 'worker exited' });
    await until(() => received.some((m) => m.type === 'connect'), 'the connect at the service');
    expect(received.map((m) => m.type)).toEqual(['resumeEnd', 'connect']);
    expect(server.size).toBe(1);
    expect(server.refusedLinks).toBe(0);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
  } finally {
    close();
  }
});

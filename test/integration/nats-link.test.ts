/**
 * The reliable channel over real nats-servers: two nodes' routers, each on
 * its own NATS connection, stream numbered frames both ways; the nats-server
 * one of them uses is SIGKILLed, or SIGSTOPped (a partition: its sockets stay
 * open), mid-stream in a 3-server cluster, and its client reconnects to
 * another server (learnt from the cluster's gossip).
 * Every frame arrives once and in order, no reset; a plain numbered publish
 * beside it, with no sequence, shows what core NATS lost meanwhile.
 */
import { connectNats, type NatsLink } from '../../src/nats/nats-connection';
import { ChannelRouter } from '../../src/nats/channel-router';
import type { ChannelOwner, ReliableChannel, ResetReason } from '../../src/nats/reliable-channel';
import { isSwitchyardError } from '../../src/errors';
import { Waiter } from '../helpers/line-peer';
import { recordingLogger } from '../helpers/recording-logger';
import { describeWithNats, startNatsCluster, startNatsServer, stopAllNats } from '../helpers/nats-server';

/** Records what arrives, in order, and wakes the test's waits. */
class Stream implements ChannelOwner {
  readonly received: number[] = [];
  readonly resets: ResetReason[] = [];
  drains = 0;
  constructor(private readonly waiter: Waiter) {}
  onFrame(payload: Uint8Array): void {
    this.received.push(Number(Buffer.from(payload).toString()));
    this.waiter.notify();
  }
  onReset(reason: ResetReason): void {
    this.resets.push(reason);
    this.waiter.notify();
  }
  onDrain(): void {
    this.drains++;
    this.waiter.notify();
  }
}

const links: NatsLink[] = [];
const routers: ChannelRouter[] = [];

async function node(name: string, servers: readonly string[]): Promise<{ link: NatsLink; router: ChannelRouter }> {
  const link = await connectNats({ servers, name: `test-${name}` });
  links.push(link);
  const router = new ChannelRouter(link, { cluster: 'sytest', node: name, nodes: ['a', 'b'] }, recordingLogger().log);
  routers.push(router);
  link.on('reconnect', () => router.reconnected());
  return { link, router };
}

/** Sends `from..to` on `channel`, waiting for room whenever the window is full. */
async function sendRange(channel: ReliableChannel, stream: Stream, waiter: Waiter, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) {
    while (!channel.send(Buffer.from(String(n)))) {
      const drains = stream.drains;
      await waiter.until(() => stream.drains > drains, () => `room in the window at frame ${n}`, 10_000);
    }
    // A steady stream rather than one burst: the kill lands in the middle of it.
    if (n % 50 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function inOrder(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describeWithNats('test/integration/nats-link.test.ts')('reliable channel over real NATS', () => {
  afterEach(async () => {
    for (const router of routers.splice(0)) router.close();
    await Promise.all(links.splice(0).map((link) => link.close()));
    await stopAllNats();
  });

  test.each([
    ['SIGKILL', 'dies'],
    ['SIGSTOP', 'stops answering (a partition)'],
  ] as const)('%s: the nats-server one side uses %s mid-stream both ways: zero loss, no duplicate, no reset', async (signal, _what) => {
    const cluster = await startNatsCluster(3);
    const [first, second] = cluster.servers;
    if (first === undefined || second === undefined) throw new Error('no cluster');
    // a knows only the server that dies: it must find the others from the cluster's gossip.
    const a = await node('a', [first.url]);
    const b = await node('b', [second.url]);
    const waiter = new Waiter();
    const atA = new Stream(waiter);
    const atB = new Stream(waiter);
    const aToB = a.router.open('b', 'stream', atA);
    const bToA = b.router.open('a', 'stream', atB);

    // Beside the channel, the same numbers on a plain subject: what core NATS alone delivers.
    const plain: number[] = [];
    let plainEnded = false;
    const unsubscribe = b.link.subscribe('sytest.plain', (_subject, data) => {
      const text = Buffer.from(data).toString();
      if (text === 'end') plainEnded = true;
      else plain.push(Number(text));
      waiter.notify();
    });
    await b.link.flush();

    const total = 3000;
    const killAt = 1000;
    let plainSent = 0;
    const sendPlain = (upTo: number): void => {
      for (; plainSent < upTo; plainSent++) a.link.publish('sytest.plain', Buffer.from(String(plainSent + 1)));
    };
    const reconnected = new Promise<string>((resolve) => a.link.once('reconnect', resolve));
    await Promise.all([sendRange(aToB, atA, waiter, 1, killAt), sendRange(bToA, atB, waiter, 1, killAt)]);
    sendPlain(killAt);
    if (signal === 'SIGKILL') await first.kill('SIGKILL');
    else first.pause(true);
    const killedAt = Date.now();
    await Promise.all([sendRange(aToB, atA, waiter, killAt + 1, total), sendRange(bToA, atB, waiter, killAt + 1, total)]);
    sendPlain(total);
    const server = await reconnected;
    const reconnectMs = Date.now() - killedAt;
    expect(server).not.toBe(first.url);

    await waiter.until(
      () => atB.received.length >= total && atA.received.length >= total,
      () => `b has ${atB.received.length}, a has ${atA.received.length} of ${total}`,
      15_000,
    );
    // One publisher's messages keep their order: once 'end' arrives, every plain message that will arrive has.
    a.link.publish('sytest.plain', Buffer.from('end'));
    await waiter.until(() => plainEnded, () => 'the end of the plain stream');
    unsubscribe();
    expect(atB.received).toEqual(inOrder(1, total));
    expect(atA.received).toEqual(inOrder(1, total));
    expect(atA.resets).toEqual([]);
    expect(atB.resets).toEqual([]);
    const lostPlain = total - new Set(plain).size;
    console.log(
      `NATS server ${signal}: a reconnected to another server in ${reconnectMs} ms; plain publish lost ${lostPlain} of ${total}; ` +
        `channel resends a→b ${aToB.stats.resends}, b→a ${bToA.stats.resends}, duplicates dropped ${aToB.stats.duplicates + bToA.stats.duplicates}; a→b ${JSON.stringify(aToB.stats)}`,
    );
    // Something was lost on the way and repaired (the plain subject shows it), or nothing was lost at all.
    if (lostPlain > 0) expect(aToB.stats.resends + bToA.stats.resends).toBeGreaterThan(0);
    expect(a.router.stats).toEqual({ refused: 0, unrouted: 0, malformed: 0 });
  }, 30_000);

  test('the frame limit is the server\'s max_payload: a frame over it throws SY_ERR_NATS_FRAME_TOO_LARGE, one at it arrives', async () => {
    const server = await startNatsServer({ maxPayload: 4096 });
    const a = await node('a', [server.url]);
    const b = await node('b', [server.url]);
    expect(a.link.maxPayload()).toBe(4096);
    const waiter = new Waiter();
    const atB = new Stream(waiter);
    const channel = a.router.open('b', 'big', new Stream(waiter));
    const received: number[] = [];
    b.router.open('a', 'big', {
      onFrame: (payload) => {
        received.push(payload.byteLength);
        waiter.notify();
      },
      onReset: (reason) => atB.onReset(reason),
      onDrain: () => undefined,
    });
    expect(channel.maxFramePayload()).toBe(4096 - 26);
    let caught: unknown;
    try {
      channel.send(Buffer.alloc(4096 - 25));
    } catch (error) {
      caught = error;
    }
    expect(isSwitchyardError(caught, 'SY_ERR_NATS_FRAME_TOO_LARGE')).toBe(true);
    expect(channel.send(Buffer.alloc(4096 - 26))).toBe(true);
    await waiter.until(() => received.length === 1, () => `received ${JSON.stringify(received)}`);
    expect(received).toEqual([4096 - 26]);
  });

  test('messages from a node not in the config, on a malformed subject, or not frames are refused and counted', async () => {
    const server = await startNatsServer();
    const a = await node('a', [server.url]);
    const { log, warnings } = recordingLogger();
    const rogue = await connectNats({ servers: [server.url] });
    links.push(rogue);
    const waiter = new Waiter();
    const atB = new Stream(waiter);
    const b = await connectNats({ servers: [server.url] });
    links.push(b);
    const router = new ChannelRouter(b, { cluster: 'sytest', node: 'b', nodes: ['a', 'b'] }, log);
    routers.push(router);
    router.open('a', 'stream', atB);
    await b.flush();
    rogue.publish('sytest.link.b.mallory.stream', Buffer.from('x'));
    rogue.publish('sytest.link.b.a', Buffer.from('x'));
    rogue.publish('sytest.link.b.a.nope', Buffer.from('x'));
    rogue.publish('sytest.link.b.a.stream', Buffer.from('not a frame'));
    // Two connections' messages have no order between them: the server has taken the rogue's before a's frame goes.
    await rogue.flush();
    // And a real frame from a afterwards still arrives.
    a.router.open('b', 'stream', new Stream(waiter)).send(Buffer.from('7'));
    await waiter.until(() => atB.received.length === 1, () => `stats ${JSON.stringify(router.stats)}`);
    expect(atB.received).toEqual([7]);
    expect(router.stats).toEqual({ refused: 2, unrouted: 1, malformed: 1 });
    expect(warnings('malformed NATS link frame dropped')).toHaveLength(1);
  });

  test('a peer that restarts (a new channel, a new epoch, its hello first) resets the survivor, which replays; nothing of the old session reaches the new peer', async () => {
    const server = await startNatsServer();
    const a = await node('a', [server.url]);
    const bLink = await connectNats({ servers: [server.url] });
    links.push(bLink);
    const waiter = new Waiter();
    const atA = new Stream(waiter);
    const aToB = a.router.open('b', 'stream', atA);
    const first = new Stream(waiter);
    let bRouter = new ChannelRouter(bLink, { cluster: 'sytest', node: 'b', nodes: ['a', 'b'] }, recordingLogger().log);
    routers.push(bRouter);
    bRouter.open('a', 'stream', first);
    await bLink.flush();
    await sendRange(aToB, atA, waiter, 1, 100);
    await waiter.until(() => first.received.length === 100, () => `b has ${first.received.length}`);

    // b's process restarts: its router and channel are gone, a new one opens and says hello.
    bRouter.close();
    const second = new Stream(waiter);
    bRouter = new ChannelRouter(bLink, { cluster: 'sytest', node: 'b', nodes: ['a', 'b'] }, recordingLogger().log);
    routers.push(bRouter);
    const bToA = bRouter.open('a', 'stream', second);
    await bLink.flush();
    // a owner's replay on reset: here, the last 10 it sent, as its own level had not seen them confirmed.
    atA.onReset = function (this: Stream, reason: ResetReason): void {
      this.resets.push(reason);
      for (let n = 91; n <= 100; n++) aToB.send(Buffer.from(String(n)));
      waiter.notify();
    };
    bToA.send(Buffer.from('0')); // the hello
    await waiter.until(() => atA.resets.length === 1 && second.received.length === 10, () => `a resets ${JSON.stringify(atA.resets)}, b2 has ${JSON.stringify(second.received)}`);
    expect(atA.resets).toEqual(['peer-restarted']);
    expect(atA.received).toEqual([0]);
    expect(second.received).toEqual(inOrder(91, 100));
    expect(second.resets).toEqual([]);
    expect(first.received).toEqual(inOrder(1, 100));
  });
});

/**
 * Endpoint addressing of the router (each process subscribes to its own
 * frames), channels it accepts on its own, and link lines carried over a
 * channel: split over frames when longer than one, joined again by the reader.
 */
import { ChannelRouter, type AcceptedOwner, type NatsPort } from '../../src/nats/channel-router';
import { ChannelEndpoint, ChannelLineReader } from '../../src/nats/channel-endpoint';
import type { ReliableChannel } from '../../src/nats/reliable-channel';
import { recordingLogger } from '../helpers/recording-logger';

/** An in-memory NATS: subjects with `>` tails, delivered synchronously; records every publish. */
class Bus {
  readonly published: string[] = [];
  private readonly subscriptions: Array<{ prefix: string; handler: (subject: string, data: Uint8Array) => void }> = [];
  maxPayload = 1024 * 1024;

  port(): NatsPort {
    return {
      publish: (subject, data) => {
        this.published.push(subject);
        for (const sub of this.subscriptions) if (subject.startsWith(sub.prefix)) sub.handler(subject, data);
      },
      subscribe: (subject, handler) => {
        const entry = { prefix: subject.slice(0, -1), handler };
        this.subscriptions.push(entry);
        return () => this.subscriptions.splice(this.subscriptions.indexOf(entry), 1);
      },
      maxPayload: () => this.maxPayload,
    };
  }
}

class Collect implements AcceptedOwner {
  readonly payloads: string[] = [];
  channel: ReliableChannel | undefined;
  onFrame(payload: Uint8Array): void {
    this.payloads.push(Buffer.from(payload).toString());
  }
  onReset(): void {}
  onDrain(): void {}
  bind(channel: ReliableChannel): void {
    this.channel = channel;
  }
}

const routers: ChannelRouter[] = [];
afterEach(() => {
  for (const router of routers.splice(0)) router.close();
});

function router(bus: Bus, node: string, endpoint: string, accept?: (peer: string, name: string) => AcceptedOwner | undefined): ChannelRouter {
  const made = new ChannelRouter(bus.port(), { cluster: 'c', node, nodes: ['a', 'b'], endpoint, ...(accept ? { accept } : {}) }, recordingLogger().log);
  routers.push(made);
  return made;
}

test('a channel between two endpoints publishes on <cluster>.link.<to node>.<to endpoint>.<from node>.<from endpoint>; the peer accepts it', () => {
  const bus = new Bus();
  const accepted: Array<[string, string]> = [];
  const atService = new Collect();
  router(bus, 'a', 'chat-0', (peer, name) => {
    accepted.push([peer, name]);
    return atService;
  });
  // Another process of node a, subscribed to its own endpoint only: it sees none of it.
  const bystander = router(bus, 'a', 'echo-0');
  const worker = router(bus, 'b', 'w3');
  const atWorker = new Collect();
  const channel = worker.open('a', 'chat-0', atWorker);
  expect(channel.send(Buffer.from('hello'))).toBe(true);
  expect(bus.published[0]).toBe('c.link.a.chat-0.b.w3');
  expect(accepted).toEqual([['b', 'w3']]);
  expect(atService.payloads).toEqual(['hello']);
  expect(atService.channel?.send(Buffer.from('back'))).toBe(true);
  expect(atWorker.payloads).toEqual(['back']);
  expect(bystander.stats).toEqual({ refused: 0, unrouted: 0, malformed: 0 });
});

test('without an accept, a frame for a channel not open is unrouted; a sender that is no configured node is refused', () => {
  const bus = new Bus();
  const service = router(bus, 'a', 'chat-0');
  const worker = router(bus, 'b', 'w3');
  worker.open('a', 'chat-0', new Collect()).send(Buffer.from('x'));
  expect(service.stats.unrouted).toBe(1);
  bus.port().publish('c.link.a.chat-0.mallory.w1', Buffer.from('x'));
  expect(service.stats.refused).toBe(1);
});

test('a line longer than a frame crosses in several frames and is read back whole, multi-byte characters included', () => {
  const bus = new Bus();
  bus.maxPayload = 26 + 7;
  const values: unknown[] = [];
  const reader = new ChannelLineReader(1 << 20, { onValue: (value) => values.push(value), onMalformed: () => undefined, onOverflow: () => undefined, onBadRaw: () => undefined });
  const receiver = new (class extends Collect {
    override onFrame(payload: Uint8Array): void {
      reader.push(payload);
    }
  })();
  router(bus, 'a', 'chat-0', () => receiver);
  const sender = router(bus, 'b', 'w3');
  const endpoint = new ChannelEndpoint(sender.open('a', 'chat-0', new Collect()));
  const batch = [{ type: 'message', id: '1.1', seq: 1, data: 'héllo wörld — ✓ '.repeat(3) }];
  let written = false;
  expect(endpoint.send(batch, () => (written = true))).toBe(true);
  expect(bus.published.length).toBeGreaterThan(5);
  expect(values).toEqual([batch]);
  return Promise.resolve().then(() => expect(written).toBe(true));
});

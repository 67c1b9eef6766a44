/**
 * Node liveness from heartbeats, over an in-memory bus with jest's fake
 * clock: up on the first heartbeat, down after deadAfter of silence (not
 * before), down then up on a restart, and everything that is not a valid
 * heartbeat of a configured node refused or counted as malformed.
 */
import { NodeRegistry, parseHeartbeat, type DownReason, type Heartbeat } from '../../src/nats/node-registry';
import type { NatsPort } from '../../src/nats/channel-router';
import { recordingLogger } from '../helpers/recording-logger';

/** Core NATS in memory: `*` matches one token, `>` the rest; no echo to the publishing port. */
class Bus {
  private readonly subscriptions = new Set<{ pattern: string[]; port: BusPort; handler: (subject: string, data: Uint8Array) => void }>();
  cut = new Set<BusPort>();

  port(): BusPort {
    return new BusPort(this);
  }

  subscribe(port: BusPort, subject: string, handler: (subject: string, data: Uint8Array) => void): () => void {
    const entry = { pattern: subject.split('.'), port, handler };
    this.subscriptions.add(entry);
    return () => this.subscriptions.delete(entry);
  }

  publish(from: BusPort, subject: string, data: Uint8Array): void {
    if (this.cut.has(from)) return;
    const tokens = subject.split('.');
    for (const entry of [...this.subscriptions]) {
      if (entry.port === from || this.cut.has(entry.port) || !matches(entry.pattern, tokens)) continue;
      entry.handler(subject, data);
    }
  }
}

function matches(pattern: readonly string[], tokens: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '>') return tokens.length > i;
    if (i >= tokens.length || (pattern[i] !== '*' && pattern[i] !== tokens[i])) return false;
  }
  return pattern.length === tokens.length;
}

class BusPort implements NatsPort {
  constructor(private readonly bus: Bus) {}
  publish(subject: string, data: Uint8Array): void {
    this.bus.publish(this, subject, data);
  }
  subscribe(subject: string, handler: (subject: string, data: Uint8Array) => void): () => void {
    return this.bus.subscribe(this, subject, handler);
  }
  maxPayload(): number {
    return 1024 * 1024;
  }
}

const registries: NodeRegistry[] = [];

function registry(port: NatsPort, node: string, nodes = ['a', 'b'], log = recordingLogger().log): { registry: NodeRegistry; events: string[] } {
  const events: string[] = [];
  const created = new NodeRegistry(port, { cluster: 'c1', node, nodes, heartbeatInterval: 100, deadAfter: 300 }, log);
  created.on('up', (peer) => events.push(`up ${peer}`));
  created.on('down', (peer, reason: DownReason) => events.push(`down ${peer} ${reason}`));
  created.on('conflict', () => events.push('conflict'));
  created.on('unlisted', (peer, nodes) => events.push(`unlisted ${peer} ${nodes.join(',')}`));
  registries.push(created);
  return { registry: created, events };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  for (const created of registries.splice(0)) created.stop();
  jest.useRealTimers();
});

test('peers are up from their first heartbeat and stay up while heartbeats come', () => {
  const bus = new Bus();
  const a = registry(bus.port(), 'a');
  const b = registry(bus.port(), 'b');
  a.registry.start();
  b.registry.start();
  // b's first heartbeat reaches a, which answers at once: neither waits an interval.
  expect(a.events).toEqual(['up b']);
  expect(b.events).toEqual(['up a']);
  jest.advanceTimersByTime(5000);
  expect(a.events).toEqual(['up b']);
  expect(b.events).toEqual(['up a']);
  expect(a.registry.peerInfo()).toEqual([{ node: 'b', state: 'up', lastHeartbeat: expect.any(Number), boot: b.registry.boot }]);
  expect(a.registry.stats.heartbeatsReceived).toBeGreaterThanOrEqual(50);
});

test('a silent peer is down after deadAfter, not before, and up again when it speaks', () => {
  const bus = new Bus();
  const a = registry(bus.port(), 'a');
  const bPort = bus.port();
  const b = registry(bPort, 'b');
  a.registry.start();
  b.registry.start();
  bus.cut.add(bPort); // b stopped (SIGSTOP), or partitioned
  jest.advanceTimersByTime(250);
  expect(a.events).toEqual(['up b']);
  jest.advanceTimersByTime(200); // 450 ms: past 300 and at most a quarter late
  expect(a.events).toEqual(['up b', 'down b timeout']);
  expect(a.registry.state('b')).toBe('down');
  bus.cut.delete(bPort);
  jest.advanceTimersByTime(100);
  expect(a.events).toEqual(['up b', 'down b timeout', 'up b']);
});

test('a peer that restarted (a new boot id) is down then up, at once', () => {
  const bus = new Bus();
  const a = registry(bus.port(), 'a');
  const b = registry(bus.port(), 'b');
  a.registry.start();
  b.registry.start();
  b.registry.stop();
  const b2 = registry(bus.port(), 'b');
  b2.registry.start();
  expect(a.events).toEqual(['up b', 'down b restarted', 'up b']);
});

test('heartbeats of unknown nodes, other clusters, spoofed subjects and garbage are counted, never trusted', () => {
  const bus = new Bus();
  const { log, warnings } = recordingLogger();
  const a = registry(bus.port(), 'a', ['a', 'b'], log);
  a.registry.start();
  const rogue = bus.port();
  const beat = (fields: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ v: 1, cluster: 'c1', node: 'b', boot: 5, seq: 1, ...fields }));
  rogue.publish('c1.nodes.mallory', beat({ node: 'mallory' }));
  rogue.publish('c1.nodes.b', beat({ cluster: 'c2' }));
  rogue.publish('c1.nodes.b', beat({ node: 'mallory' }));
  rogue.publish('c1.nodes.b', Buffer.from('not json'));
  rogue.publish('c1.nodes.b', beat({ boot: -1 }));
  rogue.publish('c1.nodes.b', beat({ v: 2 }));
  expect(a.events).toEqual([]);
  expect(a.registry.stats).toMatchObject({ refused: 3, malformed: 3, heartbeatsReceived: 0 });
  expect(warnings('NATS heartbeat refused: not from a configured node of this cluster')).toHaveLength(1); // throttled
  expect(a.registry.state('b')).toBe('unknown');
  rogue.publish('c1.nodes.b', beat({}));
  expect(a.events).toEqual(['up b']);
});

test("the cluster.nodes trap: each heartbeat carries the sender's cluster.nodes; each side of a missing name is refused and warned about, naming the node and the list", () => {
  const bus = new Bus();
  const onA = recordingLogger();
  const onC = recordingLogger();
  // c lists a, but a (started with the default list, its placements) does not list c: a node that holds no instance.
  const a = registry(bus.port(), 'a', ['a', 'b'], onA.log);
  const c = registry(bus.port(), 'c', ['c', 'a'], onC.log);
  const heard: string[][] = [];
  const spy = bus.port();
  spy.subscribe('c1.nodes.*', (_subject, data) => heard.push([...((parseHeartbeat(data) as Heartbeat).nodes ?? [])]));
  a.registry.start();
  c.registry.start();
  jest.advanceTimersByTime(250);
  expect(heard).toContainEqual(['a', 'b']);
  expect(heard).toContainEqual(['a', 'c']); // sorted
  // a refuses c (not in its list) and says so, naming c and its own cluster.nodes.
  expect(a.events).toEqual([]);
  expect(a.registry.state('c')).toBeUndefined();
  expect(a.registry.stats.refused).toBeGreaterThanOrEqual(3);
  const unknown = onA.warnings('NATS heartbeat refused: that node is not in cluster.nodes; list every node (one that holds no instance too) in cluster.nodes on every node');
  expect(unknown).toHaveLength(1); // throttled
  expect(unknown[0]).toMatchObject({ node: 'c', clusterNodes: ['a', 'b'] });
  // c hears a, which does not list it: a is refused (never up, so c's workers would not link to instances that refuse them), reported, and named.
  expect(c.events).toEqual(Array.from({ length: c.events.length }, () => 'unlisted a a,b'));
  expect(c.events.length).toBeGreaterThanOrEqual(2);
  expect(c.registry.state('a')).toBe('unknown');
  const unlisted = onC.warnings("NATS heartbeat refused: that node does not list this node in its cluster.nodes, so it refuses this node's heartbeats and links; give every node the same cluster.nodes");
  expect(unlisted).toHaveLength(1);
  expect(unlisted[0]).toMatchObject({ node: 'a', itsClusterNodes: ['a', 'b'], thisNode: 'c' });
  // A heartbeat that says nothing of its list (an older node) is taken as before.
  bus.port().publish('c1.nodes.a', Buffer.from(JSON.stringify({ v: 1, cluster: 'c1', node: 'a', boot: 9, seq: 1 })));
  expect(c.events).toContain('up a');
  // A list that is not node names is malformed.
  expect(parseHeartbeat(Buffer.from('{"v":1,"cluster":"c","node":"a","boot":1,"seq":1,"nodes":["a","b.c"]}'))).toMatch(/^nodes is not a list/);
  expect(parseHeartbeat(Buffer.from('{"v":1,"cluster":"c","node":"a","boot":1,"seq":1,"nodes":["a","b"]}'))).toMatchObject({ nodes: ['a', 'b'] });
});

test('two processes with one node name: each sees the other as a conflict', () => {
  const bus = new Bus();
  const first = registry(bus.port(), 'a');
  const second = registry(bus.port(), 'a');
  first.registry.start();
  second.registry.start();
  jest.advanceTimersByTime(100);
  expect(first.events).toContain('conflict');
  expect(second.registry.stats.conflicts).toBeGreaterThanOrEqual(1);
});

test('deadAfter below two heartbeats is refused; names must be subject tokens', () => {
  const port = new Bus().port();
  const log = recordingLogger().log;
  expect(() => new NodeRegistry(port, { cluster: 'c', node: 'a', nodes: ['a'], heartbeatInterval: 100, deadAfter: 150 }, log)).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_ARGUMENT' }));
  expect(() => new NodeRegistry(port, { cluster: 'c.d', node: 'a', nodes: ['a'] }, log)).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_ARGUMENT' }));
  expect(() => new NodeRegistry(port, { cluster: 'c', node: 'a', nodes: ['a', '>'] }, log)).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_ARGUMENT' }));
  expect(parseHeartbeat(Buffer.from('{"v":1,"cluster":"c","node":"a","boot":1,"seq":1}'))).toEqual({ v: 1, cluster: 'c', node: 'a', boot: 1, seq: 1 });
});

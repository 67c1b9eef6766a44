/**
 * Node liveness over real nats-servers: a peer in a process of its own is
 * dead once SIGSTOPped for the liveness timeout and back when continued; a
 * node whose nats-server is SIGKILLed (in a 3-server cluster) reconnects to
 * another and is not declared dead by anyone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { connectNats, type NatsLink } from '../../src/nats/nats-connection';
import { NodeRegistry } from '../../src/nats/node-registry';
import { Waiter } from '../helpers/line-peer';
import { recordingLogger } from '../helpers/recording-logger';
import { describeWithNats, startNatsCluster, startNatsServer, stopAllNats } from '../helpers/nats-server';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'nats-node.ts');
const ROOT = path.join(__dirname, '..', '..');

interface FixtureNode {
  readonly child: ChildProcess;
  readonly events: Array<Record<string, unknown>>;
}

const children: ChildProcess[] = [];
const links: NatsLink[] = [];
const registries: NodeRegistry[] = [];

/** Starts the fixture node and resolves once it is connected and heartbeating. */
function startFixture(config: Record<string, unknown>, waiter: Waiter): Promise<FixtureNode> {
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), FIXTURE, JSON.stringify(config)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>);
    waiter.notify();
  });
  child.on('exit', () => waiter.notify());
  return waiter.until(() => events.some((event) => event.event === 'ready'), () => `fixture events ${JSON.stringify(events)}`, 20_000).then(() => ({ child, events }));
}

async function localNode(servers: readonly string[], node: string, waiter: Waiter, timing: { heartbeatInterval?: number; deadAfter?: number }): Promise<{ registry: NodeRegistry; link: NatsLink; events: string[] }> {
  const link = await connectNats({ servers, name: `test-${node}` });
  links.push(link);
  const registry = new NodeRegistry(link, { cluster: 'sytest', node, nodes: ['a', 'b'], ...timing }, recordingLogger().log);
  registries.push(registry);
  const events: string[] = [];
  registry.on('up', (peer) => {
    events.push(`up ${peer}`);
    waiter.notify();
  });
  registry.on('down', (peer, reason) => {
    events.push(`down ${peer} ${reason}`);
    waiter.notify();
  });
  link.on('reconnect', () => registry.heartbeat());
  registry.start();
  return { registry, link, events };
}

describeWithNats('test/integration/nats-registry.test.ts')('node liveness over real NATS', () => {
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
    for (const registry of registries.splice(0)) registry.stop();
    await Promise.all(links.splice(0).map((link) => link.close()));
    await stopAllNats();
  });

  test('a SIGSTOPped peer process is dead after the liveness timeout, and up again when continued', async () => {
    const server = await startNatsServer();
    const waiter = new Waiter();
    const timing = { heartbeatInterval: 200, deadAfter: 1000 };
    const a = await localNode([server.url], 'a', waiter, timing);
    const b = await startFixture({ servers: [server.url], cluster: 'sytest', node: 'b', nodes: ['a', 'b'], ...timing }, waiter);
    await waiter.until(() => a.events.includes('up b'), () => `a saw ${JSON.stringify(a.events)}`);
    await waiter.until(() => b.events.some((event) => event.event === 'up' && event.node === 'a'), () => `b saw ${JSON.stringify(b.events)}`);

    b.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await waiter.until(() => a.events.includes('down b timeout'), () => `a saw ${JSON.stringify(a.events)}`, 5000);
    const detectedMs = Date.now() - stoppedAt;
    // Not before the timeout (less one heartbeat: the last one may have left just before the stop), at most a quarter late (plus load).
    expect(detectedMs).toBeGreaterThanOrEqual(timing.deadAfter - timing.heartbeatInterval);
    expect(detectedMs).toBeLessThan(timing.deadAfter * 2);

    b.child.kill('SIGCONT');
    await waiter.until(() => a.events.filter((event) => event === 'up b').length === 2, () => `a saw ${JSON.stringify(a.events)}`, 5000);
    expect(a.events).toEqual(['up b', 'down b timeout', 'up b']);
    expect(a.registry.peerInfo()[0]).toMatchObject({ node: 'b', state: 'up' });
    console.log(`SIGSTOPped peer declared dead after ${detectedMs} ms (deadAfter ${timing.deadAfter} ms, heartbeats every ${timing.heartbeatInterval} ms)`);
  }, 30_000);

  test('a node whose nats-server is SIGKILLed reconnects to another of the cluster and is not declared dead (default timings)', async () => {
    const cluster = await startNatsCluster(3);
    const [first, second] = cluster.servers;
    if (first === undefined || second === undefined) throw new Error('no cluster');
    const waiter = new Waiter();
    // The defaults: heartbeats every 500 ms, dead after 3 s.
    const timing = {};
    const a = await localNode([first.url], 'a', waiter, timing);
    const b = await localNode([second.url], 'b', waiter, timing);
    await waiter.until(() => a.events.includes('up b') && b.events.includes('up a'), () => `a ${JSON.stringify(a.events)}, b ${JSON.stringify(b.events)}`);
    const reconnected = new Promise<number>((resolve) => {
      const killedAt = Date.now();
      a.link.once('reconnect', () => resolve(Date.now() - killedAt));
    });
    await first.kill('SIGKILL');
    const reconnectMs = await reconnected;
    expect(reconnectMs).toBeLessThan(2000);
    // Two full timeouts' worth of watching after the kill: nobody goes down.
    await waiter.nothingWithin(4000, () => [a.events, b.events], () => `a ${JSON.stringify(a.events)}, b ${JSON.stringify(b.events)}`);
    expect(b.events).toEqual(['up a']);
    expect(a.events).toEqual(['up b']);
    console.log(`NATS server kill: node a reconnected in ${reconnectMs} ms; no node declared dead`);
  }, 30_000);

  test('a nats-server that stops answering (SIGSTOP: a partition) is left for another within the liveness timeout: no node declared dead', async () => {
    const cluster = await startNatsCluster(3);
    const [first, second] = cluster.servers;
    if (first === undefined || second === undefined) throw new Error('no cluster');
    const waiter = new Waiter();
    // The defaults: heartbeats every 500 ms, dead after 3 s.
    const timing = {};
    const a = await localNode([first.url], 'a', waiter, timing);
    const b = await localNode([second.url], 'b', waiter, timing);
    await waiter.until(() => a.events.includes('up b') && b.events.includes('up a'), () => `a ${JSON.stringify(a.events)}, b ${JSON.stringify(b.events)}`);
    const stoppedAt = Date.now();
    const reconnected = new Promise<number>((resolve) => a.link.once('reconnect', () => resolve(Date.now() - stoppedAt)));
    first.pause(true);
    try {
      const reconnectMs = await reconnected;
      console.log(`NATS server SIGSTOP: node a left it for another server after ${reconnectMs} ms; events a ${JSON.stringify(a.events)}, b ${JSON.stringify(b.events)}`);
      expect(reconnectMs).toBeLessThan(2500);
      await waiter.nothingWithin(1500, () => [a.events, b.events], () => `a ${JSON.stringify(a.events)}, b ${JSON.stringify(b.events)}`);
      expect(b.events).toEqual(['up a']);
      expect(a.events).toEqual(['up b']);
    } finally {
      first.pause(false);
    }
  }, 30_000);
});

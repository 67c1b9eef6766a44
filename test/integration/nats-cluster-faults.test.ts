/**
 * Two nodes over a 3-server NATS cluster: bad input published on the
 * cluster's subjects is refused and counted, never trusted, and the nodes
 * serve on; then the nats-server node A uses is SIGKILLed in the middle of
 * a stream from a client on node B to the service on A: every message is
 * answered, first answers in order, a repeat only where marked, and node A's
 * processes move to the other servers (they were given only the one killed).
 */
import * as path from 'node:path';
import { closeClients, connect, FIXTURES, type TestClient } from '../helpers/cluster';
import { describeWithNats, startNatsCluster, stopAllNats, type NatsCluster } from '../helpers/nats-server';
import { startNode, stopNodes, writeClusterConfig, type NodeProcess } from '../helpers/nats-nodes';
import { stopSpawned } from '../helpers/spawned';
import { connectNats, type NatsLink } from '../../src/nats/nats-connection';
import { encodeFrame } from '../../src/nats/frame';

interface Echo {
  readonly type: 'echo';
  readonly data: string;
  readonly redelivered: boolean;
}

async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A scrape has no event to wait on: poll it, bounded.
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeWithNats(__filename)('nodes over a 3-server NATS cluster', () => {
  let nats: NatsCluster;
  let a: NodeProcess;
  let b: NodeProcess;
  let rogue: NatsLink;

  beforeAll(async () => {
    nats = await startNatsCluster(3);
    const [s0, s1] = nats.servers;
    const config = writeClusterConfig(s0 as NatsCluster['servers'][number], { watch: { module: path.join(FIXTURES, 'node-watch.ts'), node: 'a' } }, ['a', 'b']);
    // Each node is given one server only: it learns the others from the cluster's gossip.
    [a, b] = await Promise.all([startNode('a', config, {}, ['--nats', s0?.url as string]), startNode('b', config, {}, ['--nats', s1?.url as string])]);
    rogue = await connectNats({ servers: [nats.urls[2] as string] });
  }, 60_000);

  afterEach(() => closeClients());

  afterAll(async () => {
    await rogue?.close();
    await stopNodes([a, b]);
    stopSpawned();
    await stopAllNats();
  }, 30_000);

  test('bad input over NATS: malformed frames, a node not in the config, a hello for another node\'s worker, bad heartbeats: refused, counted, nodes serve on', async () => {
    const frame = (seq: number, payload: string): Buffer => encodeFrame({ kind: 'data', epoch: 77, peerEpoch: 0, seq, ack: 0, payload: Buffer.from(payload) } as Parameters<typeof encodeFrame>[0]);
    // Not a frame, on the service's endpoint.
    rogue.publish('sytest.link.a.watch-0.b.w9', Buffer.from('not a frame'));
    // From a node that is not configured, and on a subject of another shape.
    rogue.publish('sytest.link.a.watch-0.mallory.w1', frame(1, '[{"type":"hello","worker":1,"secret":""}]\n'));
    rogue.publish('sytest.link.a.watch-0.b', Buffer.from('x'));
    // From a configured node, a hello that names one of node a's own workers (link id of node index 0): not b's, refused.
    rogue.publish('sytest.link.a.watch-0.b.w9', frame(1, `${JSON.stringify([{ type: 'hello', worker: 2 ** 32 + 1, secret: '' }, { type: 'connect', client: { id: '100000001.1', path: '/watch', query: {}, headers: {} }, seq: 1 }])}\n`));
    // Heartbeats: garbage, another cluster's, a node not configured.
    rogue.publish('sytest.nodes.a', Buffer.from('{"v":1'));
    rogue.publish('sytest.nodes.mallory', Buffer.from(JSON.stringify({ v: 1, cluster: 'sytest', node: 'mallory', boot: 5, seq: 1 })));
    rogue.publish('sytest.nodes.b', Buffer.from(JSON.stringify({ v: 1, cluster: 'other', node: 'b', boot: 5, seq: 1 })));
    await rogue.flush();
    await until(async () => (await metric(a.port, /^switchyard_nats_refused_total\{reason="refused"\} (\d+)/m)) >= 2, 'link messages refused on node a');
    expect(await metric(a.port, /^switchyard_nats_refused_total\{reason="malformed"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    await until(async () => (await metric(a.port, /^switchyard_nats_refused_total\{reason="heartbeat_malformed"\} (\d+)/m)) >= 1, 'a malformed heartbeat counted');
    expect(await metric(a.port, /^switchyard_nats_refused_total\{reason="heartbeat_refused"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
    // The forged client never reached the service, and a client on B still gets through.
    const client = await connect(b.port, '/watch');
    await client.json((m) => m.type === 'welcome');
    client.socket.send('closes');
    const closes = await client.json<{ closes: unknown[] }>((m) => m.type === 'closes');
    expect(closes.closes).toEqual([]);
    client.socket.send('still');
    await client.json((m) => m.type === 'echo' && m.data === 'still');
  }, 30_000);

  test("SIGKILL of node A's nats-server mid-stream from B: nothing lost, repeats only marked, A moves to another server", async () => {
    const client: TestClient = await connect(b.port, '/watch');
    await client.json((m) => m.type === 'welcome');
    const total = 200;
    let sent = 0;
    const sender = setInterval(() => {
      if (sent < total) client.socket.send(String(++sent));
    }, 5);
    try {
      await client.json((m) => m.type === 'echo' && m.data === '60');
      await nats.servers[0]?.kill('SIGKILL');
      await client.json((m) => m.type === 'echo' && m.data === String(total), 25_000);
    } finally {
      clearInterval(sender);
    }
    const echoes = client.messages.map((m) => JSON.parse(String(m)) as Record<string, unknown>).filter((m): m is Echo & Record<string, unknown> => m.type === 'echo' && m.data !== 'still');
    const firsts: number[] = [];
    const seen = new Set<string>();
    const unmarked: string[] = [];
    for (const echo of echoes) {
      if (!seen.has(echo.data)) {
        seen.add(echo.data);
        firsts.push(Number(echo.data));
      } else if (!echo.redelivered) unmarked.push(echo.data);
    }
    expect(firsts).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(unmarked).toEqual([]);
    expect(client.closeCode).toBeUndefined();
    const resends = await metric(a.port, /^switchyard_nats_resends_total (\d+)/m);
    const resets = (await metric(a.port, /^switchyard_nats_resets_total (\d+)/m)) + (await metric(b.port, /^switchyard_nats_resets_total (\d+)/m));
    console.log(`${echoes.length} echoes for ${total} messages, ${echoes.filter((e) => e.redelivered).length} marked redelivered; node a resent ${resends} frames; resets ${resets}`);
  }, 60_000);
});

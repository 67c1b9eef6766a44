/**
 * Node liveness across NATS, with real node processes: a node whose master
 * is SIGKILLed is declared dead (heartbeats every 200 ms, dead after 1 s)
 * and the service on the surviving node hears `onClose(1006, 'node lost')`
 * for exactly that node's clients; a node that holds the service is killed
 * while a client on another node streams, and restarted: every message is
 * answered, in order, a repeat only where marked redelivered.
 */
import * as path from 'node:path';
import { closeClients, connect, FIXTURES, type TestClient } from '../helpers/cluster';
import { describeWithNats, startNatsServer, stopAllNats, type NatsServer } from '../helpers/nats-server';
import { startNode, stopNodes, writeClusterConfig, type NodeProcess } from '../helpers/nats-nodes';
import { stopSpawned } from '../helpers/spawned';

interface Echo {
  readonly type: 'echo';
  readonly data: string;
  readonly redelivered: boolean;
}

function welcomeId(client: TestClient): Promise<string> {
  return client.json<{ id: string }>((m) => m.type === 'welcome').then((m) => m.id);
}

describeWithNats(__filename)('node faults over NATS', () => {
  let nats: NatsServer;
  let config: string;
  const nodes: NodeProcess[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    config = writeClusterConfig(nats, { watch: { module: path.join(FIXTURES, 'node-watch.ts'), node: 'a' } }, ['a', 'b']);
  });

  afterEach(async () => {
    closeClients();
    await stopNodes(nodes.splice(0));
    stopSpawned();
  }, 30_000);

  afterAll(() => stopAllNats());

  test("SIGKILL of node B's master: the service on A hears 1006 'node lost' for exactly B's clients; A's clients lose nothing", async () => {
    const [a, b] = await Promise.all([startNode('a', config), startNode('b', config)]);
    nodes.push(a, b);
    const onB = await Promise.all([0, 1, 2].map(() => connect(b.port, '/watch')));
    const onA = await Promise.all([0, 1].map(() => connect(a.port, '/watch')));
    const bIds = await Promise.all(onB.map(welcomeId));
    const aIds = await Promise.all(onA.map(welcomeId));
    for (const client of [...onB, ...onA]) client.socket.send('before');
    for (const client of [...onB, ...onA]) await client.json((m) => m.type === 'echo' && m.data === 'before');

    const killedAt = Date.now();
    b.cli.child.kill('SIGKILL');
    await b.cli.exited;
    const watcher = onA[0] as TestClient;
    let closes: Array<[string, number, string]> = [];
    for (let asked = 0; closes.length < bIds.length; asked++) {
      watcher.socket.send('closes');
      closes = (await watcher.json<{ closes: Array<[string, number, string]> }>((m) => m.type === 'closes' && (m.closes as unknown[]).length >= bIds.length, 250).catch(() => ({ closes: [] }))).closes;
      if (Date.now() - killedAt > 8000) throw new Error(`the service heard ${closes.length} closes in 8 s`);
    }
    const detectedMs = Date.now() - killedAt;
    console.log(`node B's death seen by the service on A after ${detectedMs} ms (deadAfter 1000 ms)`);
    expect(closes.map(([id]) => id).sort()).toEqual([...bIds].sort());
    expect(closes.every(([, code, reason]) => code === 1006 && reason === 'node lost')).toBe(true);
    // A's own clients: still served, never closed.
    for (const client of onA) client.socket.send('after');
    for (const client of onA) await client.json((m) => m.type === 'echo' && m.data === 'after');
    expect(onA.map((client) => client.closeCode)).toEqual([undefined, undefined]);
    expect(aIds.some((id) => closes.some(([closed]) => closed === id))).toBe(false);
  }, 40_000);

  test('node A (the service) SIGKILLed and restarted while a client on B streams: every message answered, in order, repeats only marked', async () => {
    const [a, b] = await Promise.all([startNode('a', config), startNode('b', config)]);
    nodes.push(b);
    const client = await connect(b.port, '/watch');
    await welcomeId(client);
    const total = 150;
    let sent = 0;
    let restarted: NodeProcess | undefined;
    const sender = setInterval(() => {
      if (sent < total) client.socket.send(String(++sent));
    }, 10);
    try {
      await client.json((m) => m.type === 'echo' && m.data === '40');
      a.cli.child.kill('SIGKILL');
      await a.cli.exited;
      restarted = await startNode('a', config);
      nodes.push(restarted);
      await client.json((m) => m.type === 'echo' && m.data === String(total), 20_000);
    } finally {
      clearInterval(sender);
    }
    const echoes = client.messages.map((m) => JSON.parse(String(m)) as Record<string, unknown>).filter((m): m is Echo & Record<string, unknown> => m.type === 'echo');
    const firsts: number[] = [];
    const seen = new Set<string>();
    const unmarkedRepeats: string[] = [];
    for (const echo of echoes) {
      if (!seen.has(echo.data)) {
        seen.add(echo.data);
        firsts.push(Number(echo.data));
      } else if (!echo.redelivered) unmarkedRepeats.push(echo.data);
    }
    expect(firsts).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(unmarkedRepeats).toEqual([]);
    expect(client.closeCode).toBeUndefined();
    console.log(`${echoes.length} echoes for ${total} messages (${echoes.filter((e) => e.redelivered).length} marked redelivered)`);
  }, 60_000);

  test("SIGKILL of a worker on node B: the service on A hears 1006 'worker exited' for exactly that worker's clients, from B's heartbeats", async () => {
    const [a, b] = await Promise.all([startNode('a', config), startNode('b', config)]);
    nodes.push(a, b);
    const onB = await connect(b.port, '/watch');
    const onA = await connect(a.port, '/watch');
    const bId = await welcomeId(onB);
    await welcomeId(onA);
    const health = (await (await fetch(`http://127.0.0.1:${b.port}/healthz`)).json()) as { processes: Array<{ kind: string; pid: number }> };
    const worker = health.processes.find((entry) => entry.kind === 'worker');
    process.kill(worker?.pid as number, 'SIGKILL');
    expect(await onB.closed).toBe(1006);
    let closes: Array<[string, number, string]> = [];
    const deadline = Date.now() + 8000;
    while (closes.length === 0) {
      if (Date.now() > deadline) throw new Error('the service on A heard no close in 8 s');
      onA.socket.send('closes');
      closes = (await onA.json<{ closes: Array<[string, number, string]> }>((m) => m.type === 'closes' && (m.closes as unknown[]).length > 0, 250).catch(() => ({ closes: [] }))).closes;
    }
    expect(closes).toEqual([[bId, 1006, 'worker exited']]);
    // B's replacement worker (forked after a backoff; the port refuses until it listens) links to A again: a new client on B is served.
    const retryUntil = Date.now() + 10_000;
    let again: TestClient | undefined;
    while (again === undefined) {
      again = await connect(b.port, '/watch').catch(async (error: unknown) => {
        if (Date.now() > retryUntil) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return undefined;
      });
    }
    await welcomeId(again);
  }, 40_000);
});

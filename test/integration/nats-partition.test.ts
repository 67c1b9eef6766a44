/**
 * Fault test 4: a partition between two nodes, with real node processes on a
 * 3-server NATS cluster. Service `wa` is placed on node a, `wb` on node b;
 * clients on each node use both. Two cuts, one after the other on the same
 * pair of nodes (the first heals before the second):
 * (a) every process of node b SIGSTOPped for longer than `deadAfter`, then
 *     SIGCONTed (a machine frozen, or cut off and back);
 * (b) node b's nats-server SIGSTOPped, b having no other server to go to
 *     (given only that one, and the servers run with `--no_advertise` so it
 *     learns no other): a and b cannot hear each other, each still runs.
 * What is checked: placement is static (no instance of `wb` ever runs on a,
 * nor `wa` on b, and every answer a client gets comes from the one process
 * of its service: no two instances own one client); a's side closes b's
 * clients of `wa` (1006 'node lost') and holds its own clients' events for
 * `wb` (1013 past the bound); with the nats-server cut, b does the same the
 * other way round and keeps serving its own clients of `wb`; after the heal
 * the nodes see each other, held events are answered in order (repeats only
 * marked), and new clients are served across nodes.
 */
import * as path from 'node:path';
import { closeClients, connect, FIXTURES, type TestClient } from '../helpers/cluster';
import { expectNothingWithin } from '../helpers/expect-nothing';
import { describeWithNats, startNatsCluster, stopAllNats, type NatsCluster } from '../helpers/nats-server';
import { startNode, stopNodes, writeClusterConfig, type NodeProcess } from '../helpers/nats-nodes';
import { stopSpawned } from '../helpers/spawned';

type Close = [string, number, string];

interface Answer {
  readonly type: string;
  readonly data?: string;
  readonly id?: string;
  readonly resumed?: boolean;
  readonly redelivered?: boolean;
  readonly pid: number;
}

interface Health {
  readonly processes: ReadonlyArray<{ readonly kind: string; readonly pid?: number; readonly name?: string }>;
  readonly nodes?: ReadonlyArray<{ readonly node: string; readonly state: string }>;
}

/** The bound on what a worker holds per service instance here (SWITCHYARD_IPC_MAX_QUEUED_MESSAGES). */
const HOLD_BOUND = 16;

function answers(client: TestClient): Answer[] {
  return client.messages.filter((m): m is string => typeof m === 'string').map((m) => JSON.parse(m) as Answer);
}

async function welcome(client: TestClient): Promise<{ id: string; pid: number }> {
  const m = await client.json<{ id: string; pid: number }>((v) => v.type === 'welcome');
  return { id: m.id, pid: m.pid };
}

/** A node's last log lines, for a failure's message. */
function nodeLogs(node: NodeProcess): string {
  return node.cli.stdout.filter((line) => line.includes('"level":')).slice(-25).join('\n');
}

function echoed(client: TestClient, data: string, timeoutMs = 10_000): Promise<unknown> {
  return client.json((m) => m.type === 'echo' && m.data === data, timeoutMs);
}

/**
 * A new client right after the heal, which sends "fresh". A connect refused with 1013 is tried again (at most 5 tries), as
 * the bundled client does after a 1013: its worker may still be at its hold bound for a few ms, the acks of the replay
 * coming a turn after its answers, and a reset at the heal can put them a hello's round trip behind (issue 13; seen once in
 * CI after the fix of the queue kept across a drop). Returns the client answered, or the last one, which the caller's
 * check then names with what it got and its close code.
 */
async function connectAfterHeal(port: number, path: string): Promise<TestClient> {
  for (let attempt = 1; ; attempt++) {
    const client = await connect(port, path);
    client.socket.send('fresh');
    const outcome = await Promise.race([echoed(client, 'fresh', 20_000).then(() => 'answered' as const, () => 'timeout' as const), client.closed]);
    if (outcome !== 1013 || attempt === 5) return client;
    console.log(`a new client on ${path} refused with 1013 at its try ${attempt} after the heal: tried again`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Asks the service (through `via`) for every close it heard; those of `ids`, from its next answer. */
async function closesNow(via: TestClient, ids: readonly string[]): Promise<Close[]> {
  return (await report(via, ids)).closes;
}

/** The service's closes and lifecycle events of `ids`, from its next answer to "closes". */
async function report(via: TestClient, ids: readonly string[]): Promise<{ closes: Close[]; events: Array<[string, string]> }> {
  let next = via.messages.length;
  via.socket.send('closes');
  for (;;) {
    await via.received(next + 1, 5000);
    const message = via.messages[next++];
    if (typeof message !== 'string') continue;
    const value = JSON.parse(message) as { type: string; closes?: Close[]; events?: Array<[string, string]> };
    if (value.type === 'closes') return { closes: (value.closes ?? []).filter(([id]) => ids.includes(id)), events: (value.events ?? []).filter(([id]) => ids.includes(id)) };
  }
}

/** Asks again until the service heard at least `want` closes of `ids` (bounded: 8 s); those. */
async function closesFor(via: TestClient, ids: readonly string[], want: number, what: string): Promise<Close[]> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const closes = await closesNow(via, ids);
    if (closes.length >= want) return closes;
    if (Date.now() > deadline) throw new Error(`${what}: ${closes.length} of ${want} closes heard in 8 s`);
    // The service's state has no event a client can wait on: ask again shortly.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function health(node: NodeProcess): Promise<Health> {
  return (await (await fetch(`http://127.0.0.1:${node.port}/healthz`)).json()) as Health;
}

function servicesOn(report: Health): string[] {
  return report.processes.filter((p) => p.kind === 'service').map((p) => p.name as string).sort();
}

/** First answers to `prefix`-ed messages in order, and every repeat marked redelivered. */
function checkOrder(client: TestClient, prefix: string, count: number): { repeats: number } {
  const echoes = answers(client).filter((m) => m.type === 'echo' && m.data?.startsWith(prefix) === true);
  const firsts: string[] = [];
  let repeats = 0;
  for (const echo of echoes) {
    if (!firsts.includes(echo.data as string)) firsts.push(echo.data as string);
    else {
      repeats++;
      expect(echo).toMatchObject({ redelivered: true });
    }
  }
  expect(firsts).toEqual(Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`));
  return { repeats };
}

/**
 * What a service heard of each client alternates: a connect (or a resumed
 * connect) opens it, a close ends it, a message only while open. A client
 * closed with 'node lost' and still connected to its cut-off node comes back
 * as resumed after the heal; never a second close, or a message, without it.
 */
function checkLifecycles(events: ReadonlyArray<[string, string]>): void {
  const open = new Map<string, boolean>();
  const broken: string[] = [];
  for (const [id, event] of events) {
    const isOpen = open.get(id) === true;
    // A connect needs the client closed (or new); a message and a close need it open.
    if ((event === 'connect' || event === 'resumed') === isOpen) broken.push(`${id} ${event}`);
    if (event !== 'message') open.set(id, event !== 'close');
  }
  expect(broken).toEqual([]);
}

describeWithNats(__filename)('a partition between nodes', () => {
  let nats: NatsCluster;
  let a: NodeProcess;
  let b: NodeProcess;

  beforeAll(async () => {
    // --no_advertise: a node learns no other server from the one it is given, so b cannot leave its server when it stops.
    nats = await startNatsCluster(3, { args: ['--no_advertise'] });
    const [s0, s1] = nats.servers;
    const owner = path.join(FIXTURES, 'node-owner.ts');
    const config = writeClusterConfig(s0 as NatsCluster['servers'][number], { wa: { module: owner, node: 'a' }, wb: { module: owner, node: 'b' } }, ['a', 'b']);
    // The small bound on node a only, whose hold the test fills: on b it also bounded wb's send queue to a's worker, which
    // the replay after the heal (wb's answers to a's 16 held events, its welcomes) overflowed, and a new client of wb on a
    // then went unanswered (3 runs in about 20).
    const env = { SWITCHYARD_IPC_MAX_QUEUED_MESSAGES: String(HOLD_BOUND) };
    [a, b] = await Promise.all([startNode('a', config, env, ['--nats', s0?.url as string]), startNode('b', config, {}, ['--nats', s1?.url as string])]);
  }, 60_000);

  afterEach(() => closeClients());

  afterAll(async () => {
    nats?.servers[1]?.pause(false);
    await stopNodes([a, b]);
    stopSpawned();
    await stopAllNats();
  }, 30_000);

  /**
   * The clients, the cut, and what each side must do. `bServes`: node b runs
   * during the cut (its nats-server is cut, not its processes), so it serves
   * its own clients of wb and closes a's clients of wb itself.
   */
  async function partition(cut: () => Promise<void>, heal: () => void, bServes: boolean): Promise<void> {
    const a1 = await connect(a.port, '/wa');
    const a2 = await connect(a.port, '/wb'); // a few events held through the cut, answered after it
    const a3 = await connect(a.port, '/wb'); // past the hold bound: 1013
    const b1 = await connect(b.port, '/wa');
    const b2 = await connect(b.port, '/wb');
    const [w1, w2, w3, w4, w5] = await Promise.all([a1, a2, a3, b1, b2].map(welcome));
    const waPid = w1?.pid as number;
    const wbPid = w5?.pid as number;
    expect([w4?.pid, w2?.pid, w3?.pid]).toEqual([waPid, wbPid, wbPid]);
    for (const client of [a1, a2, a3, b1, b2]) client.socket.send('before');
    await Promise.all([a1, a2, a3, b1, b2].map((client) => echoed(client, 'before')));

    const cutAt = Date.now();
    let healed = false;
    const healOnce = (): void => {
      if (!healed) heal();
      healed = true;
    };
    await cut();
    try {
      // a's side: b is dead after deadAfter; wa hears 1006 'node lost' for exactly b's client of it.
      const ids = [w1, w2, w3, w4, w5].map((w) => w?.id as string);
      const onA = await closesFor(a1, ids, 1, 'wa on node a');
      console.log(`node b declared dead by node a ${Date.now() - cutAt} ms after the cut (deadAfter 1000 ms)`);
      expect(onA).toEqual([[w4?.id, 1006, 'node lost']]);
      // a's own client of its own service: served throughout.
      a1.socket.send('during');
      await echoed(a1, 'during');
      // a's clients of wb (on b): held, not answered, never served by anything on a; past the bound, 1013.
      for (let i = 1; i <= 5; i++) a2.socket.send(`q${i}`);
      await expectNothingWithin(300, echoed(a2, 'q1'), "a2's held q1 answered during the cut");
      for (let i = 1; i <= HOLD_BOUND + 4; i++) a3.socket.send(`f${i}`);
      expect(await a3.closed).toBe(1013);
      expect(a2.closeCode).toBeUndefined();
      expect(servicesOn(await health(a))).toEqual(['wa']);
      // b's clients of wa: what they send now waits on b (its link to wa is down, or b itself is stopped).
      b1.socket.send('x1');
      b1.socket.send('x2');
      b2.socket.send('y1');
      if (bServes) {
        // b runs on: it declares a dead in turn, closes a's clients of wb itself, serves its own client of wb, holds b1's events.
        const onB = await closesFor(b2, ids, 2, 'wb on node b');
        expect(onB.sort()).toEqual([[w2?.id, 1006, 'node lost'], [w3?.id, 1006, 'node lost']].sort());
        await echoed(b2, 'y1');
        expect(servicesOn(await health(b))).toEqual(['wb']);
        expect((await health(b)).nodes).toEqual([expect.objectContaining({ node: 'a', state: 'down' })]);
        await expectNothingWithin(300, echoed(b1, 'x1'), "b1's held x1 answered during the cut");
      }
      expect((await health(a)).nodes).toEqual([expect.objectContaining({ node: 'b', state: 'down' })]);

      const healAt = Date.now();
      healOnce();
      // After the heal: held events answered in order, by the same processes; the nodes see each other again.
      await echoed(a2, 'q5', 20_000);
      console.log(`a2's held events answered ${Date.now() - healAt} ms after the heal`);
      await echoed(b1, 'x2', 20_000);
      await echoed(b2, 'y1', 10_000);
      console.log(`b1's held events answered ${Date.now() - healAt} ms after the heal`);
      // wa's resumed onConnect greeted b1 again: what a service sends across a channel reset at the heal is not lost.
      await b1.json((m) => m.type === 'welcome' && m.resumed === true, 10_000).catch((error: unknown) => {
        throw new Error(`b1 got no resumed welcome: ${String(error)}; it got ${JSON.stringify(b1.messages)}\nnode a:\n${nodeLogs(a)}\nnode b:\n${nodeLogs(b)}`);
      });
      const q = checkOrder(a2, 'q', 5);
      const x = checkOrder(b1, 'x', 2);
      expect(a2.closeCode).toBeUndefined();
      expect(b1.closeCode).toBeUndefined();
      // New clients reach each service across nodes (allowed 20 s: a stalled channel resets after 5 s, then re-links).
      // Each is named when it fails, with what it got and the nodes' last log lines.
      const fresh = [await connectAfterHeal(a.port, '/wb'), await connectAfterHeal(b.port, '/wa')];
      // A new client on a of wb used to be closed with 1013 at its connect in some runs (issue 13; docs/nats.md, "Open"): wb,
      // handling a's replay before its master's word that a was dead, then dropped a's worker and reset the channel, and the acks
      // queued a turn behind the answers went only after a's next hello, so a's worker was still at its hold bound when a2 had its
      // answers. Now they go ahead of the reset (test/nats/link-continuation.test.ts): checked in both cases. A shorter window of
      // the same kind is left (one 1013 in a CI run after that fix): connectAfterHeal tries such a connect again, as a client would.
      const checked: ReadonlyArray<readonly [TestClient | undefined, string]> = [[fresh[0], 'a new client on a of wb'], [fresh[1], 'a new client on b of wa']];
      for (const [client, what] of checked) {
        await echoed(client as TestClient, 'fresh', 20_000).catch((error: unknown) => {
          throw new Error(`${what} not answered: ${String(error)}; it got ${JSON.stringify(client?.messages)}, close code ${String(client?.closeCode)}\nnode a:\n${nodeLogs(a)}\nnode b:\n${nodeLogs(b)}`);
        });
      }
      // Placement is static, and every answer each client got came from its service's one process.
      expect(servicesOn(await health(a))).toEqual(['wa']);
      expect(servicesOn(await health(b))).toEqual(['wb']);
      expect((await health(a)).nodes).toEqual([expect.objectContaining({ node: 'b', state: 'up' })]);
      expect((await health(b)).nodes).toEqual([expect.objectContaining({ node: 'a', state: 'up' })]);
      for (const [client, pid] of [[a1, waPid], [b1, waPid], [fresh[1], waPid], [a2, wbPid], [a3, wbPid], [b2, wbPid], [fresh[0], wbPid]] as const) {
        expect(new Set(answers(client as TestClient).map((m) => m.pid))).toEqual(new Set([pid]));
      }
      const onAAfter = await report(a1, ids);
      const onBAfter = await report(b2, ids);
      console.log(`wa's events: ${JSON.stringify(onAAfter.events)}; wb's events: ${JSON.stringify(onBAfter.events)}`);
      checkLifecycles(onAAfter.events);
      checkLifecycles(onBAfter.events);
      const resets = await Promise.all([a, b].map(async (node) => /^switchyard_nats_resets_total (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text())?.[1]));
      console.log(`channel resets so far: node a ${resets[0]}, node b ${resets[1]}`);
      const resumed = (client: TestClient): number => answers(client).filter((m) => m.type === 'welcome' && m.resumed === true).length;
      console.log(
        `after the heal: wa heard ${JSON.stringify(onAAfter.closes)}, wb heard ${JSON.stringify(onBAfter.closes)}; ` +
          `a2 resumed ${resumed(a2)}x, ${q.repeats} repeats marked; b1 resumed ${resumed(b1)}x, ${x.repeats} repeats marked`,
      );
    } finally {
      // A failed check must not leave node b (or its server) stopped: stopNodes could not end it then.
      healOnce();
    }
  }

  test("(a) every process of node b SIGSTOPped past deadAfter, then SIGCONTed: a closes b's clients, holds (1013 past the bound), never takes over; all heals", async () => {
    const report = await health(b);
    const pids = report.processes.map((p) => p.pid).filter((pid): pid is number => typeof pid === 'number');
    expect(pids).toContain(b.cli.child.pid);
    await partition(
      async () => {
        for (const pid of pids) process.kill(pid, 'SIGSTOP');
      },
      () => {
        for (const pid of pids) process.kill(pid, 'SIGCONT');
      },
      false,
    );
  }, 60_000);

  test("(b) node b's nats-server SIGSTOPped (b can reach no other): each side declares the other dead, b serves its own clients, both hold; all heals", async () => {
    const server = nats.servers[1] as NatsCluster['servers'][number];
    await partition(
      async () => server.pause(true),
      () => server.pause(false),
      true,
    );
  }, 60_000);
});

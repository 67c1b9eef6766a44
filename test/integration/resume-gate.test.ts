/**
 * A restarted instance handles no client event but resumes until every worker
 * it expects has resumed its clients (docs/failure-semantics.md): otherwise
 * the held messages of one worker's client, replayed at once, publish before
 * another worker's subscribers are subscribed again, and those miss them
 * silently (the soak's finding, docs/soak.md).
 */
import * as path from 'node:path';
import { closeAll, connect, eventually, FIXTURES, startCluster, type TestClient } from '../helpers/cluster';
import { workerOfClientId } from '../../src/client-id';
import type { SwitchyardServer } from '../../src/master/server';
import type { SwitchyardOptions } from '../../src/options';

const FANOUT = path.join(FIXTURES, 'resume-fanout.ts');

afterEach(closeAll);

interface Member {
  readonly client: TestClient;
  readonly id: string;
  readonly worker: number;
  readonly instance: number;
}

async function join(port: number, query = ''): Promise<Member> {
  const client = await connect(port, `/fan${query}`);
  const welcome = await client.json<{ id: string; instance: number }>((m) => m.type === 'welcome');
  return { client, id: welcome.id, worker: workerOfClientId(welcome.id) as number, instance: welcome.instance };
}

/** The texts published to `t` that `member` received, in order. */
function published(member: Member): string[] {
  const texts: string[] = [];
  for (const message of member.client.messages) {
    const value = JSON.parse(String(message)) as { type: string; text?: string };
    if (value.type === 'pub') texts.push(value.text as string);
  }
  return texts;
}

/**
 * Connects clients (the first without `query`, the others with it) until
 * `enough` holds for them, whose workers are the first client's and the
 * other worker any of them landed on. Worker ids come from the client ids,
 * which name the worker that holds each client (in base 36).
 */
async function spread(port: number, enough: (members: readonly Member[], first: number, second: number) => boolean, query = ''): Promise<{ members: Member[]; first: number; second: number }> {
  const members: Member[] = [];
  for (;;) {
    members.push(await join(port, members.length === 0 ? '' : query));
    const first = (members[0] as Member).worker;
    const second = members.find((m) => m.worker !== first)?.worker;
    if (second !== undefined && enough(members, first, second)) return { members, first, second };
    expect(members.length).toBeLessThan(24);
  }
}

const onWorker = (members: readonly Member[], worker: number): Member[] => members.filter((m) => m.worker === worker);

async function start(options: SwitchyardOptions): Promise<{ server: SwitchyardServer; port: number }> {
  // The restart comes well after the sends have reached the sender's worker: they are held, not sent.
  return startCluster({ restartDelay: 300, ...options });
}

/**
 * SIGKILLs the instance; while it is down each sender sends `<tag>1`–`<tag>5`
 * (its tag: a, b…); once its successor runs, each sends `<tag>6`.
 */
async function killAndSend(server: SwitchyardServer, instance: number, senders: readonly Member[]): Promise<void> {
  const pid = server.stats().services.find((s) => s.instance === instance)?.pid as number;
  const exited = new Promise((resolve) => server.once('serviceExit', resolve));
  const online = new Promise((resolve) => server.once('serviceOnline', resolve));
  process.kill(pid, 'SIGKILL');
  await exited;
  senders.forEach((sender, n) => {
    for (let i = 1; i <= 5; i++) sender.client.socket.send(`${TAGS[n]}${i}`);
  });
  await online;
  senders.forEach((sender, n) => sender.client.socket.send(`${TAGS[n]}6`));
}

const TAGS = ['a', 'b'];

/** Every member got every sender's six messages, in order per sender. */
async function everyoneGotAll(members: readonly Member[], senders: number): Promise<void> {
  const tags = TAGS.slice(0, senders);
  // Before the fix the last ones may never come (missed too): what arrived is compared below.
  await Promise.all(members.map((m) => Promise.all(tags.map((tag) => m.client.json((v) => v.type === 'pub' && v.text === `${tag}6`, 6000))).catch(() => undefined)));
  for (const member of members) {
    const got = published(member);
    const bySender = Object.fromEntries(tags.map((tag) => [tag, got.filter((text) => text.startsWith(tag))]));
    const all = Object.fromEntries(tags.map((tag) => [tag, [1, 2, 3, 4, 5, 6].map((i) => `${tag}${i}`)]));
    expect({ id: member.id, worker: member.worker, got: bySender }).toEqual({ id: member.id, worker: member.worker, got: all });
  }
}

test.each([
  ['one sender, subscribing at once', 1, ''],
  // Whichever worker links first, the other's subscribers would miss its sender's messages.
  ['a sender on each worker, subscribing at once', 2, ''],
  ['one sender, the other worker subscribing 300 ms after its resume (state loaded from a store)', 1, '?resumeDelay=300'],
])('SIGKILL, sends while down: subscribers on every worker get every publish (%s)', async (_what, senders, query) => {
  const { server, port } = await start({ services: { fan: FANOUT } });
  // The first client sends; every other one takes the query (so those on the other worker resume slowly).
  const { members, first, second } = await spread(port, (all, a, b) => onWorker(all, a).length >= 2 && onWorker(all, b).length >= 2, query);
  const chosen = [onWorker(members, first)[0], onWorker(members, second)[0]] as Member[];
  await killAndSend(server, 0, chosen.slice(0, senders));
  await everyoneGotAll(members, senders);
}, 40000);

test('a service of 2 instances: SIGKILL the senders\' instance, sends while down: subscribers of both instances on both workers get every publish', async () => {
  const { server, port } = await start({ services: { fan: { module: FANOUT, instances: 2 } } });
  const has = (all: readonly Member[], worker: number, instance: number): boolean => all.some((m) => m.worker === worker && m.instance === instance);
  // Placement hashes the client id: connect until each worker holds clients of both instances.
  const { members, first, second } = await spread(port, (all, a, b) => has(all, a, 0) && has(all, a, 1) && has(all, b, 0) && has(all, b, 1));
  // A sender on each worker, both of instance 0: whichever link to the new process comes first, the other worker's subscribers would miss its sender's messages.
  const senders = [members.find((m) => m.worker === first && m.instance === 0), members.find((m) => m.worker === second && m.instance === 0)] as Member[];
  await killAndSend(server, 0, senders);
  await everyoneGotAll(members, 2);
}, 40000);

test("a client whose onConnect was still running when its instance died (its connect never acknowledged, so replayed to the successor as a new connect after its worker's resumes): subscribed again before any held publish", async () => {
  // Long enough that the gate's deadline never opens it here: what is tested is the order, not the bound.
  const { server, port } = await start({ services: { fan: FANOUT }, livenessTimeout: 10000 });
  const { members, first, second } = await spread(port, () => true);
  const sender = onWorker(members, first)[0] as Member;
  // Its onConnect subscribes and welcomes it, then is still busy 1.5 s later: the instance dies first.
  let holder: Member | undefined;
  for (let i = 0; holder === undefined; i++) {
    expect(i).toBeLessThan(24);
    const joined = await join(port, '?connectHold=1500');
    if (joined.worker === second) holder = joined;
  }
  const holderPid = server.stats().workers.find((w) => w.id === second)?.pid as number;
  const pid = server.stats().services[0]?.pid as number;
  const exited = new Promise((resolve) => server.once('serviceExit', resolve));
  const online = new Promise((resolve) => server.once('serviceOnline', resolve));
  // The holder's worker links to the successor last, whatever the load: the sender's replay is held first.
  process.kill(holderPid, 'SIGSTOP');
  try {
    process.kill(pid, 'SIGKILL');
    await exited;
    for (let i = 1; i <= 5; i++) sender.client.socket.send(`a${i}`);
    await online;
    // Its resumed onConnect came in the same line of its worker's replay as a1-a5: those wait at the gate now.
    await sender.client.json((v) => v.type === 'welcome' && v.resumed === true, 8000);
  } finally {
    process.kill(holderPid, 'SIGCONT');
  }
  // Both copies: the publishes reach the two workers in no set order.
  await Promise.all([holder, sender].map((m) => m.client.json((v) => v.type === 'pub' && v.text === 'a5', 8000).catch(() => undefined)));
  // Before the fix: none of a1-a5 (its connect waited at the gate behind them, and its worker had dropped the dead instance's routes).
  expect(published(holder)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
  expect(published(sender)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
}, 40000);

test('a worker that never resumes (SIGSTOPped) stalls the restarted service only until livenessTimeout; once it links late it is served as before', async () => {
  const { server, port } = await start({ services: { fan: FANOUT }, livenessTimeout: 1000 });
  const { members, first, second } = await spread(port, () => true);
  const sender = onWorker(members, first)[0] as Member;
  const stalled = onWorker(members, second)[0] as Member;
  const stalledPid = server.stats().workers.find((w) => w.id === second)?.pid as number;
  const pid = server.stats().services[0]?.pid as number;
  // Every connect acknowledged first (in the workers' reports that count every client): the stalled client was the last to join, and a connect its worker has no ack for is replayed as a new one, not resumed, when it links.
  await eventually(() => server.stats().clients === members.length && server.stats().services[0]?.heldMessages === 0);
  const exited = new Promise((resolve) => server.once('serviceExit', resolve));
  const online = new Promise((resolve) => server.once('serviceOnline', resolve));
  process.kill(pid, 'SIGKILL');
  await exited;
  process.kill(stalledPid, 'SIGSTOP');
  try {
    sender.client.socket.send('a1');
    await online;
    const onlineAt = Date.now();
    await sender.client.json((v) => v.type === 'pub' && v.text === 'a1', 8000);
    const waited = Date.now() - onlineAt;
    // The gate waited for the stopped worker (the deadline runs from the first worker's resumes, after serviceOnline), then served.
    expect(waited).toBeGreaterThanOrEqual(800);
    expect(waited).toBeLessThan(1000 + 3000);
  } finally {
    process.kill(stalledPid, 'SIGCONT');
  }
  // Linked after the deadline: resumed as today (its onConnect subscribes it again), and served from then on.
  await stalled.client.json((v) => v.type === 'welcome' && v.resumed === true, 8000);
  sender.client.socket.send('a2');
  await stalled.client.json((v) => v.type === 'pub' && v.text === 'a2', 8000);
  // The publish reaches both workers, in no set order.
  await sender.client.json((v) => v.type === 'pub' && v.text === 'a2', 8000);
  // What was published before it resumed did not reach it: the price of not stalling everyone else.
  expect(published(stalled)).toEqual(['a2']);
  expect(published(sender)).toEqual(['a1', 'a2']);
}, 40000);

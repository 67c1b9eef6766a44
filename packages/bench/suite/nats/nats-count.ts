/**
 * NATS messages per publish, counted at the nats-server: interest routing
 * says a publish crosses NATS once per remote worker that holds a subscriber
 * of its topic, whatever the number of subscribers there, and not at all
 * when no remote worker holds one.
 *
 * How it is read: the server's monitoring endpoint, before and after K
 * publishes sent one at a time (each its own link write, so none is
 * coalesced with the next into one frame). `/varz` out_msgs counts every
 * message the server delivered; `/connz?subs=1` splits it by connection, and
 * a connection's subscription names its process: a master's
 * (`<cluster>.nodes.*`: heartbeats, the baseline), a service instance's
 * (`<cluster>.link.<node>.<service>-<i>.>`: the acks its remote workers
 * send back), a worker's (`<cluster>.link.<node>.w<id>.>`: what the
 * publishes cost). So messages per publish = (Δ out_msgs − heartbeats −
 * acks) / K, the part delivered to workers.
 */
import WebSocket from 'ws';
import { getJson } from './nats-server';

export type ConnectionRole = 'master' | 'service' | 'worker' | 'other';

export interface ConnectionCount {
  readonly cid: number;
  readonly role: ConnectionRole;
  /** Messages the server received from this connection (it published). */
  readonly inMsgs: number;
  /** Messages the server delivered to this connection. */
  readonly outMsgs: number;
}

/** One monitoring snapshot: the server's totals and each connection's. */
export interface NatsSnapshot {
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly connections: readonly ConnectionCount[];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A connection's role from its subscriptions (`subscriptions_list` of `/connz?subs=1`). */
export function roleOf(subscriptions: readonly string[], cluster: string): ConnectionRole {
  const prefix = escape(cluster);
  const worker = new RegExp(`^${prefix}\\.link\\.[^.]+\\.w\\d+\\.>$`);
  const endpoint = new RegExp(`^${prefix}\\.link\\.[^.]+\\.[^.]+\\.>$`);
  if (subscriptions.some((subject) => subject.startsWith(`${cluster}.nodes.`))) return 'master';
  if (subscriptions.some((subject) => worker.test(subject))) return 'worker';
  if (subscriptions.some((subject) => endpoint.test(subject))) return 'service';
  return 'other';
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Reads `/varz` and `/connz` bodies into a snapshot; what is not a number counts 0. */
export function parseSnapshot(varz: Record<string, unknown>, connz: Record<string, unknown>, cluster: string): NatsSnapshot {
  const list = Array.isArray(connz.connections) ? (connz.connections as unknown[]) : [];
  const connections = list.flatMap((entry): ConnectionCount[] => {
    if (typeof entry !== 'object' || entry === null) return [];
    const fields = entry as Record<string, unknown>;
    const subscriptions = Array.isArray(fields.subscriptions_list) ? fields.subscriptions_list.filter((s): s is string => typeof s === 'string') : [];
    return [{ cid: count(fields.cid), role: roleOf(subscriptions, cluster), inMsgs: count(fields.in_msgs), outMsgs: count(fields.out_msgs) }];
  });
  return { inMsgs: count(varz.in_msgs), outMsgs: count(varz.out_msgs), connections };
}

function moved(snap: NatsSnapshot): number {
  return snap.connections.reduce((sum, connection) => sum + connection.inMsgs + connection.outMsgs, 0);
}

/**
 * `/varz` read between two `/connz` reads that agree, so the totals and the
 * split belong to one moment (a heartbeat between two reads would otherwise
 * show in one and not the other); a few tries, then the last reading.
 */
export async function snapshot(monitorUrl: string, cluster: string): Promise<NatsSnapshot> {
  const connzUrl = `${monitorUrl}/connz?subs=1&limit=4096`;
  let first = parseSnapshot({}, await getJson(connzUrl), cluster);
  for (let attempt = 1; ; attempt++) {
    const varz = await getJson(`${monitorUrl}/varz`);
    const second = parseSnapshot(varz, await getJson(connzUrl), cluster);
    if (moved(second) === moved(first) || attempt === 5) return second;
    first = second;
  }
}

/** What a stretch of traffic cost at the server, from two snapshots. */
export interface NatsDelta {
  /** Δ out_msgs of /varz: every message delivered. */
  readonly delivered: number;
  /** Δ in_msgs of /varz: every message published. */
  readonly published: number;
  /** Delivered to masters (heartbeats). */
  readonly heartbeats: number;
  /** Delivered to service instances (their remote workers' acks). */
  readonly acks: number;
  /** Delivered to workers: the publishes that crossed NATS. */
  readonly toWorkers: number;
  /** Published by service instances (the same frames from the other side; resends would show here too). */
  readonly fromServices: number;
}

/** Differences per role, over the connections present in both snapshots (a connection that came or went in between is left out). */
export function delta(before: NatsSnapshot, after: NatsSnapshot): NatsDelta {
  const earlier = new Map(before.connections.map((connection) => [connection.cid, connection]));
  const sums = { heartbeats: 0, acks: 0, toWorkers: 0, fromServices: 0 };
  for (const connection of after.connections) {
    const old = earlier.get(connection.cid);
    if (old === undefined) continue;
    const out = connection.outMsgs - old.outMsgs;
    switch (connection.role) {
      case 'master':
        sums.heartbeats += out;
        break;
      case 'service':
        sums.acks += out;
        sums.fromServices += connection.inMsgs - old.inMsgs;
        break;
      case 'worker':
        sums.toWorkers += out;
        break;
      case 'other':
        break;
      default: {
        const unreachable: never = connection.role;
        throw new Error(`unknown role ${String(unreachable)}`);
      }
    }
  }
  return { delivered: after.outMsgs - before.outMsgs, published: after.inMsgs - before.inMsgs, ...sums };
}

/** A case of the count: subscribers of the fanout topic on each node (the publisher, on node a, is one more). */
export interface CountCase {
  readonly onA: number;
  readonly onB: number;
}

export interface CountResult extends NatsDelta {
  readonly case: CountCase;
  readonly publishes: number;
  /** toWorkers / publishes. */
  readonly perPublish: number;
  /** Remote workers holding subscribers: node b's one worker when it has any. */
  readonly expected: number;
}

const WAIT_MS = 10_000;
/** Longer than a channel's ack delay (10 ms) and a heartbeat's trip: what the last publish set off has settled. */
const SETTLE_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One waiter at a time: resolves once its `check()` holds, tried whenever `tick()` is called; rejects after `ms`. */
class Until {
  private pending: { check: () => boolean; resolve: () => void } | undefined;

  wait(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new Error(`${what}: not within ${ms} ms`));
      }, ms);
      this.pending = {
        check,
        resolve: () => {
          clearTimeout(timer);
          this.pending = undefined;
          resolve();
        },
      };
    });
  }

  tick(): void {
    if (this.pending?.check() === true) this.pending.resolve();
  }
}

async function openAll(url: string, count: number, into: WebSocket[], onMessage: (this: WebSocket, data: Buffer) => void): Promise<void> {
  // A hundred handshakes at a time: enough to be quick, few enough not to flood one worker's accept queue.
  for (let first = 0; first < count; first += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - first) }, () => new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      into.push(socket);
      socket.on('message', onMessage);
      socket.once('open', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve();
      });
      socket.once('error', reject);
    })));
  }
}

async function closeEvery(sockets: readonly WebSocket[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.close(1000);
    }))),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000))),
  ]);
  clearTimeout(timer);
  for (const socket of sockets) socket.terminate();
}

/**
 * Runs one case: the publisher on node a (`urlA`), `onA`/`onB` subscribers,
 * warm-up publishes until every client has heard one (each client's connect
 * and subscription have crossed), then `publishes` numbered ones, each sent
 * once every client got the one before.
 */
export async function countCase(urlA: string, urlB: string, monitorUrl: string, cluster: string, which: CountCase, publishes: number): Promise<CountResult> {
  const sockets: WebSocket[] = [];
  const until = new Until();
  let measured = 0;
  const warmed = new Set<WebSocket>();
  try {
    const onMessage = function onMessage(this: WebSocket, data: Buffer): void {
      // "m…": a measured publish; anything else a warm-up.
      if (data[0] === 0x6d) measured++;
      else warmed.add(this);
      until.tick();
    };
    // The publisher first: sockets[0].
    await openAll(urlA, 1, sockets, onMessage);
    await openAll(urlA, which.onA, sockets, onMessage);
    await openAll(urlB, which.onB, sockets, onMessage);
    const sender = sockets[0] as WebSocket;
    const clients = sockets.length;
    const warmer = setInterval(() => sender.send('w'), 50);
    try {
      await until.wait(() => warmed.size === clients, `every one of ${clients} clients hearing a warm-up publish`);
    } finally {
      clearInterval(warmer);
    }
    await sleep(SETTLE_MS);
    const before = await snapshot(monitorUrl, cluster);
    for (let i = 1; i <= publishes; i++) {
      sender.send(`m${i}`);
      await until.wait(() => measured === i * clients, `publish ${i} reaching all ${clients} clients`);
    }
    await sleep(SETTLE_MS);
    const after = await snapshot(monitorUrl, cluster);
    const counted = delta(before, after);
    return { ...counted, case: which, publishes, perPublish: counted.toWorkers / publishes, expected: which.onB > 0 ? 1 : 0 };
  } finally {
    await closeEvery(sockets);
  }
}

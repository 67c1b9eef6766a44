/**
 * The `--nats` failure timings, Switchyard alone, on a fresh rig per round:
 * two nodes on a 3-server NATS cluster (node a given server 0, node b server
 * 1; they learn the third from the servers' gossip), the watch service on a.
 *
 * 1. A NATS server dies: a client on b streams numbered messages (one every
 *    5 ms) through the service on a; server 0 (a's) is SIGKILLed mid-stream.
 *    Recovery = from the kill to the first answer to a message sent after
 *    it. Every message must be answered (lost = 0), first answers in order,
 *    a repeat only where marked `redelivered`.
 * 2. A node dies: node b's master is SIGKILLed; detection = from the kill to
 *    the moment the service on a heard `onClose(1006, 'node lost')` for the
 *    last of b's clients (the service stamps it, same machine clock). Exactly
 *    b's clients must be closed, and a's client keeps being answered.
 *
 * Default liveness settings (heartbeats every 500 ms, dead after 3 s), as a
 * user gets them.
 */
import WebSocket from 'ws';
import type { RunOutcome } from '../suite-scenarios';
import { NatsRig } from './nats-rig';
import { startNatsCluster, type NatsServer } from './nats-server';

const STREAM_EVERY_MS = 5;
const WAIT_MS = 20_000;

interface Incoming {
  readonly type: string;
  readonly id?: string;
  readonly data?: string;
  readonly redelivered?: boolean;
  readonly code?: number;
  readonly reason?: string;
  readonly at?: number;
}

/** A `ws` client of the watch service that keeps every message it got, with its arrival time. */
class WatchClient {
  readonly messages: Array<{ readonly message: Incoming; readonly atMs: number }> = [];
  closeCode: number | undefined;
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      let message: Incoming;
      try {
        message = JSON.parse(data.toString()) as Incoming;
      } catch {
        message = { type: 'not json' };
      }
      this.messages.push({ message, atMs: performance.now() });
      this.waiter?.();
    });
    socket.on('close', (code: number) => {
      this.closeCode = code;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static open(url: string): Promise<WatchClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.once('open', () => {
        socket.off('error', reject);
        resolve(new WatchClient(socket));
      });
      socket.once('error', reject);
    });
  }

  send(text: string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  /** Resolves with the first message (from `from` on) matching `match`; rejects after `ms` or when the socket closed without it. */
  next(match: (message: Incoming) => boolean, what: string, from = 0, ms = WAIT_MS): Promise<Incoming> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.messages.slice(from).find((entry) => match(entry.message));
        if (found !== undefined) {
          finish();
          resolve(found.message);
          return true;
        }
        if (this.closeCode !== undefined) {
          finish();
          reject(new Error(`${what}: the socket closed (${this.closeCode}) first`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${what}: not within ${ms} ms`));
      }, ms);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
      };
      if (!check()) this.waiter = () => void check();
    });
  }

  close(): void {
    this.socket.terminate();
  }
}

/** What the numbered stream's answers show. */
export interface StreamCheck {
  readonly lost: number;
  readonly unmarkedRepeats: number;
  readonly outOfOrder: number;
  readonly redelivered: number;
}

/** Checks answers `{ data: "<n>", redelivered }` against the numbers 1…total. */
export function checkStream(answers: ReadonlyArray<{ readonly data: string; readonly redelivered: boolean }>, total: number): StreamCheck {
  const seen = new Set<number>();
  let last = 0, unmarkedRepeats = 0, outOfOrder = 0, redelivered = 0;
  for (const answer of answers) {
    const n = Number(answer.data);
    if (answer.redelivered) redelivered++;
    if (seen.has(n)) {
      if (!answer.redelivered) unmarkedRepeats++;
      continue;
    }
    seen.add(n);
    if (n !== last + 1) outOfOrder++;
    last = n;
  }
  let lost = 0;
  for (let n = 1; n <= total; n++) if (!seen.has(n)) lost++;
  return { lost, unmarkedRepeats, outOfOrder, redelivered };
}

/** One round of both failures on a fresh NATS cluster and fresh nodes; `messages` numbered messages in the stream. */
export async function faultRound(binary: string, messages: number): Promise<RunOutcome> {
  const { servers } = await startNatsCluster(binary, 3, { clusterName: 'sy-bench' });
  const clients: WatchClient[] = [];
  let rig: NatsRig | undefined;
  try {
    const [s0, s1] = servers as [NatsServer, NatsServer];
    const live = await NatsRig.start(servers, (node) => [node === 'a' ? s0.url : s1.url]);
    rig = live;
    const errors: Record<string, number> = {};

    // 1. SIGKILL of node a's NATS server in the middle of a stream from b.
    const streamer = await WatchClient.open(live.url('b', '/watch'));
    clients.push(streamer);
    await streamer.next((m) => m.type === 'welcome', 'the welcome on b');
    let sent = 0, sentBeforeKill = Number.POSITIVE_INFINITY, killedAt = 0;
    const ticker = setInterval(() => {
      if (sent < messages) streamer.send(String(++sent));
    }, STREAM_EVERY_MS);
    try {
      await streamer.next((m) => m.type === 'echo' && Number(m.data) >= Math.floor(messages / 4), 'answers before the kill');
      sentBeforeKill = sent;
      killedAt = performance.now();
      await s0.kill();
      // A message never answered shows as lost below, not as a failed run.
      await streamer.next((m) => m.type === 'echo' && m.data === String(messages), 'the last answer').catch(() => undefined);
    } finally {
      clearInterval(ticker);
    }
    const echoes = streamer.messages.filter((entry) => entry.message.type === 'echo');
    const firstAfter = echoes.find((entry) => Number(entry.message.data) > sentBeforeKill);
    const recoveryMs = firstAfter === undefined ? Number.NaN : firstAfter.atMs - killedAt;
    // The longest silence from the kill on: what a client saw of it.
    let gapMs = 0, previous = killedAt;
    for (const entry of echoes) {
      if (entry.atMs < killedAt) continue;
      gapMs = Math.max(gapMs, entry.atMs - previous);
      previous = entry.atMs;
    }
    const stream = checkStream(echoes.map((entry) => ({ data: String(entry.message.data), redelivered: entry.message.redelivered === true })), messages);
    // Any round's loss fails the rows (the table shows medians).
    if (stream.lost > 0) errors.lost = stream.lost;
    if (stream.unmarkedRepeats > 0) errors['unmarked repeats'] = stream.unmarkedRepeats;
    if (stream.outOfOrder > 0) errors['out of order'] = stream.outOfOrder;
    if (streamer.closeCode !== undefined) errors[`stream client closed ${streamer.closeCode}`] = 1;

    // 2. SIGKILL of node b's master: the service on a must close exactly b's clients, 1006 'node lost'.
    const watcher = await WatchClient.open(live.url('a', '/watch'));
    clients.push(watcher);
    const watcherId = (await watcher.next((m) => m.type === 'welcome', 'the welcome on a')).id;
    watcher.send('watch');
    await watcher.next((m) => m.type === 'watching', 'watching');
    const others = await Promise.all([0, 1].map(() => WatchClient.open(live.url('b', '/watch'))));
    clients.push(...others);
    const bIds = new Set<string>();
    for (const client of [streamer, ...others]) {
      const id = (await client.next((m) => m.type === 'welcome', 'the welcome on b')).id;
      if (id !== undefined) bIds.add(id);
    }
    const from = watcher.messages.length;
    const killedAtWall = Date.now();
    await live.killNode('b');
    const closes = new Map<string, Incoming>();
    await watcher.next((m) => {
      if (m.type === 'closed' && m.id !== undefined) closes.set(m.id, m);
      return [...bIds].every((id) => closes.has(id));
    }, `'node lost' for b's ${bIds.size} clients`, from);
    const detectMs = Math.max(...[...bIds].map((id) => (closes.get(id)?.at ?? Number.NaN) - killedAtWall));
    for (const [id, close] of closes) {
      if (!bIds.has(id)) errors[`closed a client of node a (${close.code} ${close.reason})`] = 1;
      else if (close.code !== 1006 || close.reason !== 'node lost') errors[`closed with ${close.code} '${close.reason}'`] = (errors[`closed with ${close.code} '${close.reason}'`] ?? 0) + 1;
    }
    if (watcherId === undefined || closes.has(watcherId)) errors['the watcher on a was closed'] = 1;
    // Node a's own client: still answered after b's death.
    const answered = watcher.messages.length;
    watcher.send('after');
    await watcher.next((m) => m.type === 'echo' && m.data === 'after', "node a's client answered after b's death", answered);
    return {
      figures: { recoveryMs, gapMs, detectMs, lost: stream.lost, redelivered: stream.redelivered, streamed: messages },
      cpuSeconds: 0,
      rssBytes: 0,
      errors,
    };
  } finally {
    for (const client of clients) client.close();
    await rig?.stopNodes();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

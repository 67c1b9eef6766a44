/**
 * The peers of one service instance: the other instances of its service,
 * reached directly over Unix sockets (the master only says where each one
 * listens, `peerUp`; it is never on this path). Each instance listens at a
 * peer endpoint of its own and opens one connection to each peer, so every
 * direction is one connection and what one instance sends arrives at another
 * in the order it was sent.
 *
 * A connection starts with `peerHello`: the sender's index and the secret the
 * master derived for it from the receiver's key (`peerSecret`), so no other
 * local process, nor a worker, can pass for a peer. While a peer is down
 * (crashed, restarting, reloading), what is sent to it waits, bounded by the
 * IPC limits, for its next process; past the bound it is dropped and counted.
 * A peer that dies loses what it had received and not yet handled, and its
 * next process starts with no state: `onPeerUp` tells every instance that a
 * peer (re)appeared, so that it can send it what it needs.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { IpcLimits } from '../child-env';
import { BatchQueue } from '../ipc/batch-queue';
import { MAX_LINE_LENGTH, SocketEndpoint, listenAt, readLines } from '../ipc/socket-endpoint';
import type { Logger } from '../logger';
import { PendingReplies } from '../pending-replies';
import { MESSAGE_OVERHEAD, approximateSize, isPeerMessage, readBatch, type Payload, type PeerMessage } from '../protocol';
import { ThrottledWarning } from '../throttled-log';

/** What the peers report to the service host. */
export interface PeerHooks {
  /** A message from peer `from`, in the order it sent them. */
  onMessage(from: number, payload: Payload): void;
  /** Peer `instance` is reachable, by a connection to a process of it that just came up (or, for a new instance, first came up). */
  onUp(instance: number): void;
  /** This instance's own subscribers of `topic`, for a peer's `clusterSubscribers`. */
  count(topic: string): number;
  /** Whether peer `instance` presenting `secret` may connect (the instance's link key decides). */
  admits(instance: number, secret: string): boolean;
}

/** How long `clusterSubscribers` waits for a peer's count: a peer that is up answers in a link round trip. */
export const COUNT_TIMEOUT_MS = 2000;

/** How long a new incoming connection may take to present its hello. */
const HELLO_TIMEOUT_MS = 5000;

interface Outgoing {
  endpoint: string;
  secret: string;
  socket: net.Socket | undefined;
  queue: BatchQueue<PeerMessage> | undefined;
  /** Sent while the peer is down: delivered, in order, to its next process. */
  readonly waiting: PeerMessage[];
}

export class Peers {
  /** Messages to a peer dropped past the bound (while it was down, or its connection's queue was full). */
  dropped = 0;
  /** Incoming connections refused: no valid hello. */
  refused = 0;
  private readonly server: net.Server;
  private readonly out = new Map<number, Outgoing>();
  private readonly counts = new PendingReplies<number>();
  private readonly refusedWarning: ThrottledWarning;
  private readonly droppedWarning: ThrottledWarning;
  private listening: string | undefined;

  constructor(
    /** This instance's index, and how many instances its service runs. */
    readonly self: number,
    readonly instances: number,
    private readonly limits: IpcLimits,
    private readonly log: Logger,
    private readonly hooks: PeerHooks,
  ) {
    this.refusedWarning = new ThrottledWarning(log, 'peer connection without a valid hello refused');
    this.droppedWarning = new ThrottledWarning(log, 'message to a peer dropped: its queue is full (it is down, or slow to read)');
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (error) => log.error({ err: error }, 'peer server error'));
  }

  /** Takes peer connections at `endpoint`. */
  listen(endpoint: string): Promise<void> {
    return listenAt(this.server, endpoint).then(() => {
      this.listening = endpoint;
    });
  }

  /** The master says where peer `instance` now listens: connect there (a previous connection to it is dropped). */
  peerUp(instance: number, endpoint: string, secret: string): void {
    if (instance === this.self || instance >= this.instances) return;
    let peer = this.out.get(instance);
    if (peer === undefined) {
      peer = { endpoint, secret, socket: undefined, queue: undefined, waiting: [] };
      this.out.set(instance, peer);
    } else {
      if (peer.endpoint === endpoint && peer.socket !== undefined) return;
      peer.socket?.destroy();
      peer.endpoint = endpoint;
      peer.secret = secret;
    }
    this.open(instance, peer);
  }

  /** Sends to one peer; false when it is not an instance of this service, or it is down and too much waits for it already. */
  send(to: number, payload: Payload): boolean {
    if (to === this.self || !Number.isInteger(to) || to < 0 || to >= this.instances) return false;
    return this.push(to, { type: 'peer', ...payload });
  }

  /** Sends to every peer; returns how many it was sent or kept for. */
  broadcast(payload: Payload): number {
    const message: PeerMessage = { type: 'peer', ...payload };
    let reached = 0;
    for (let peer = 0; peer < this.instances; peer++) if (peer !== this.self && this.push(peer, message)) reached++;
    return reached;
  }

  /**
   * The subscribers of `topic` of every instance: this one's, plus each peer's
   * as it answers. A peer that is down has none (a restarted instance starts
   * without subscriptions) and one that does not answer within
   * `COUNT_TIMEOUT_MS` counts as none.
   */
  async clusterCount(topic: string, own: number): Promise<number> {
    const asks: Array<Promise<number>> = [];
    for (const [instance, peer] of this.out) {
      if (peer.queue === undefined) continue;
      const queue = peer.queue;
      asks.push(
        new Promise<number>((resolve) => {
          const qid = this.counts.add(COUNT_TIMEOUT_MS, { onReply: resolve, onTimeout: () => resolve(0), onCancel: () => resolve(0) });
          if (!queue.push({ type: 'countRequest', qid, topic }, topic.length + MESSAGE_OVERHEAD, true)) {
            this.counts.forget(qid);
            resolve(0);
          }
          this.log.trace({ peer: instance, topic }, 'subscriber count asked');
        }),
      );
    }
    const counts = await Promise.all(asks);
    return counts.reduce((sum, count) => sum + count, own);
  }

  /** Stops: no more peer connections either way. */
  close(): void {
    this.counts.cancelAll('stopping');
    if (this.server.listening) this.server.close();
    for (const peer of this.out.values()) peer.socket?.destroy();
    this.out.clear();
    if (this.listening !== undefined) fs.rmSync(this.listening, { force: true });
  }

  private push(to: number, message: PeerMessage): boolean {
    const peer = this.out.get(to);
    const size = approximateSize(message);
    if (peer?.queue !== undefined) {
      if (peer.queue.push(message, size)) return true;
      this.dropped++;
      this.droppedWarning.warn({ peer: to });
      return false;
    }
    // Not announced yet, or down: kept for its next process, within the bound.
    let waiting = peer?.waiting;
    if (waiting === undefined) {
      const fresh: Outgoing = { endpoint: '', secret: '', socket: undefined, queue: undefined, waiting: [] };
      this.out.set(to, fresh);
      waiting = fresh.waiting;
    }
    if (waiting.length >= this.limits.maxMessages) {
      this.dropped++;
      this.droppedWarning.warn({ peer: to });
      return false;
    }
    waiting.push(message);
    return true;
  }

  private open(instance: number, peer: Outgoing): void {
    const socket = net.connect(peer.endpoint);
    peer.socket = socket;
    peer.queue = undefined;
    socket.setNoDelay(true);
    socket.once('connect', () => {
      if (peer.socket !== socket) return;
      const queue = new BatchQueue<PeerMessage>(new SocketEndpoint(socket), {
        maxMessages: this.limits.maxMessages,
        maxBytes: this.limits.maxBytes,
        onError: (error) => this.log.debug({ err: error, peer: instance }, 'write to peer failed'),
      });
      queue.push({ type: 'peerHello', instance: this.self, secret: peer.secret }, MESSAGE_OVERHEAD, true);
      for (const message of peer.waiting.splice(0)) queue.push(message, approximateSize(message), true);
      peer.queue = queue;
      this.hooks.onUp(instance);
    });
    // Incoming lines on an outgoing connection are not expected: the peer answers over its own connection.
    socket.resume();
    socket.on('error', (error) => this.log.debug({ err: error, peer: instance }, 'peer connection error'));
    socket.once('close', () => {
      if (peer.socket !== socket) return;
      peer.queue?.close();
      peer.queue = undefined;
      peer.socket = undefined;
      // The next process of that peer is announced by the master; until then what is sent waits.
    });
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    let from: number | undefined;
    const refuse = (reason: string): void => {
      clearTimeout(deadline);
      this.refused++;
      this.refusedWarning.warn({ reason });
      socket.destroy();
    };
    // Peers are few (one connection per other instance): a timer per connection costs nothing.
    const deadline = setTimeout(() => refuse('no hello in time'), HELLO_TIMEOUT_MS);
    readLines(socket, MAX_LINE_LENGTH, {
      onValue: (value) => {
        if (socket.destroyed) return;
        if (from === undefined) {
          const hello: unknown = Array.isArray(value) ? value[0] : undefined;
          if (!isPeerMessage(hello) || hello.type !== 'peerHello') return refuse('not a peer hello');
          if (hello.instance === this.self || hello.instance >= this.instances || !this.hooks.admits(hello.instance, hello.secret)) return refuse('wrong peer or secret');
          clearTimeout(deadline);
          from = hello.instance;
        }
        const sender = from;
        readBatch(value, isPeerMessage, (message) => this.handle(sender, message));
      },
      onMalformed: () => {
        if (from === undefined) refuse('unreadable hello');
      },
      onOverflow: (length) => this.log.error({ peer: from, length }, 'peer sent an oversized line; connection cut'),
      onBadRaw: (reason) => this.log.error({ peer: from, reason }, 'peer sent a bad raw segment length; connection cut'),
    });
    socket.on('error', (error) => this.log.debug({ err: error, peer: from }, 'peer connection error'));
    socket.once('close', () => clearTimeout(deadline));
  }

  private handle(from: number, message: PeerMessage): void {
    switch (message.type) {
      case 'peerHello':
        return;
      case 'peer':
        this.hooks.onMessage(from, message);
        return;
      case 'countRequest': {
        const reply: PeerMessage = { type: 'countReply', qid: message.qid, count: this.hooks.count(message.topic) };
        // Over this instance's own connection to the asker; a reply that cannot go leaves the asker to its timeout.
        this.out.get(from)?.queue?.push(reply, MESSAGE_OVERHEAD, true);
        return;
      }
      case 'countReply':
        this.counts.settle(message.qid, message.count);
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled peer message ${JSON.stringify(unreachable)}`);
      }
    }
  }
}

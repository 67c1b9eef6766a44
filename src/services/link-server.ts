/**
 * The service end of the data plane: a Unix-socket server that each worker's
 * link to this service connects to. A link introduces itself with `hello`
 * (its worker id and that worker's secret for this instance); from then on
 * its batches go to the service host, and what the host sends to that
 * worker's clients goes back on it. One link per worker: a second `hello` for
 * a worker already linked is refused, and so is a link whose first line does
 * not start with a valid `hello`, or whose hello the master's admission does
 * not accept (`link-admission.ts`: a worker not announced, a wrong secret),
 * or that sends no hello within the hello deadline.
 */
import * as net from 'node:net';
import type { IpcLimits } from '../child-env';
import { BatchQueue } from '../ipc/batch-queue';
import { MAX_LINE_LENGTH, SocketEndpoint, acceptLink, listenAt } from '../ipc/socket-endpoint';
import type { ChannelEndpoint } from '../nats/channel-endpoint';
import type { AcceptedOwner } from '../nats/channel-router';
import type { Logger } from '../logger';
import { approximateSize, isWorkerToService, readBatch, type LinkControl, type LinkResume, type ServiceToWorker, type WorkerToService } from '../protocol';
import { ThrottledWarning } from '../throttled-log';
import { ChannelLink, type RemoteAdmission } from './channel-link';
import { LinkAdmission } from './link-admission';

export type { RemoteAdmission } from './channel-link';

/** What the link server reports to the service host. */
export interface LinkServerHooks {
  /** Messages from a linked worker, in order (never its `hello`). */
  onBatch(worker: number, messages: readonly WorkerToService[]): void;
  /** A worker's link closed: that worker is gone (or stopped); `reason` for its clients' 1006 (default: the worker exited). */
  onClosed(worker: number, reason?: string): void;
}

/** How long a new connection may take to send its hello before it is cut. */
export const DEFAULT_HELLO_TIMEOUT_MS = 5000;

export interface LinkServerOptions {
  /**
   * How long a new connection may take to present a valid hello, in ms. A
   * real worker sends it in its first write; a connection that sends nothing,
   * or trickles a line, would otherwise hold its socket and its line buffer
   * for good. Default `DEFAULT_HELLO_TIMEOUT_MS`.
   */
  readonly helloTimeoutMs?: number;
}

interface Link {
  /** A worker's socket, or its channel link from another node. */
  readonly socket: net.Socket | ChannelLink;
  queue: BatchQueue<ServiceToWorker>;
}

/**
 * How long the stream of a remote worker's dropped link is kept for it to
 * continue (its node held dead, then back): a worker back later gets
 * `sessionLost` and closes its clients (1012) instead.
 */
export const ORPHAN_KEEP_MS = 30_000;

/** A remote worker's link kept, suspended, after it was dropped. */
interface Orphan {
  readonly link: ChannelLink;
  readonly queue: BatchQueue<ServiceToWorker>;
  readonly timer: NodeJS.Timeout;
}

/**
 * Messages whose loss would corrupt state in the worker pass the queue bound:
 * acks (the worker would hold handled messages forever), topic changes,
 * `closeClient`, answers and `retired`. Their number is bounded elsewhere (acks by
 * the worker's own bound on unacknowledged messages).
 */
const MUST_KEEP: ReadonlySet<ServiceToWorker['type']> = new Set(['ack', 'subscribe', 'unsubscribe', 'closeClient', 'response', 'retired']);

/** The Unix-socket server that accepts each worker's link to this service instance, one link per worker. */
export class LinkServer {
  /** Messages refused because a worker's queue was full. */
  dropped = 0;
  /** Messages from workers that failed the protocol guard. */
  rejectedMessages = 0;
  /** Links refused because their hello was missing, malformed, a second one for a linked worker, or not admitted. */
  refusedLinks = 0;
  private readonly server: net.Server;
  private readonly links = new Map<number, Link>();
  private readonly admission = new LinkAdmission();
  /**
   * Each other node's live workers, as its heartbeats last said (relayed by
   * the master): a channel hello is admitted only from one of them, so a node
   * the master holds dead (its clients closed, 1006) cannot link again until
   * it is back up. Bounded by the configured nodes.
   */
  private readonly remoteWorkers = new Map<string, ReadonlySet<number>>();
  /** Channel links whose hello waits for its node's heartbeat to list the worker (bounded by the router's accepted channels). */
  private readonly parked = new Set<ChannelLink>();
  /** The streams of remote workers' dropped links, by worker (at most one each, for `ORPHAN_KEEP_MS`). */
  private readonly orphans = new Map<number, Orphan>();
  private closedWaiters: Array<() => void> = [];
  /** A broken or hostile peer on the socket can trigger these once per message, line or connection: throttled. */
  private readonly malformedWarning: ThrottledWarning;
  private readonly unreadableWarning: ThrottledWarning;
  private readonly refusedWarning: ThrottledWarning;
  private readonly lostSessionWarning: ThrottledWarning;

  constructor(
    private readonly limits: IpcLimits,
    private readonly log: Logger,
    private readonly hooks: LinkServerHooks,
    private readonly options: LinkServerOptions = {},
  ) {
    this.malformedWarning = new ThrottledWarning(log, 'malformed messages from worker ignored');
    this.unreadableWarning = new ThrottledWarning(log, 'unreadable line from worker ignored');
    this.refusedWarning = new ThrottledWarning(log, 'link without a valid hello refused');
    this.lostSessionWarning = new ThrottledWarning(log, 'NATS link session could not be continued: the worker closes its clients of this instance with 1012');
    // Paused: acceptLink moves each accepted socket's handle to one that reads into a reused buffer before anything is read.
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server.on('error', (error) => log.error({ err: error }, 'link server error'));
  }

  /** Listens at `endpoint`, replacing a stale socket file left by a crashed instance. */
  listen(endpoint: string): Promise<void> {
    return listenAt(this.server, endpoint);
  }

  /** Accepts no more links (those open stay open). */
  stopListening(): void {
    if (this.server.listening) this.server.close();
  }

  /** The master's word on which workers may link (their secrets derive from the key it sends first). */
  fromMaster(message: LinkControl): void {
    this.admission.fromMaster(message);
    if (message.type === 'remoteWorkers') this.keepRemoteWorkers(message.node, new Set(message.workers), message.reason);
  }

  /** The links from `node`'s workers not in `workers` go: those workers are gone, or the whole node is; hellos that waited for one of `workers` go on. */
  private keepRemoteWorkers(node: string, workers: ReadonlySet<number>, reason: string): void {
    this.remoteWorkers.set(node, workers);
    for (const link of [...this.parked]) {
      const worker = link.parkedWorker;
      if (link.node !== node || worker === undefined || !workers.has(worker)) continue;
      this.parked.delete(link);
      link.unpark();
    }
    for (const [worker, link] of [...this.links]) {
      if (link.socket instanceof ChannelLink && link.socket.node === node && !workers.has(worker)) this.dropRemoteWorker(worker, reason);
    }
  }

  /** Whether the master's key has come (no link is admitted before it). */
  get hasKey(): boolean {
    return this.admission.hasKey;
  }

  /** The workers the master admitted and has not revoked: those a new instance waits for to resume. */
  admittedWorkers(): readonly number[] {
    return this.admission.admittedWorkers();
  }

  /** Whether peer instance `instance` presenting `secret` may open a peer connection (see `peers.ts`). */
  admitsPeer(instance: number, secret: string): boolean {
    return this.admission.admitsPeer(instance, secret);
  }

  get size(): number {
    return this.links.size;
  }

  workers(): IterableIterator<number> {
    return this.links.keys();
  }

  /** Queues a message for a worker; false when that worker has no link, or its queue is full. */
  send(worker: number, message: ServiceToWorker): boolean {
    const link = this.links.get(worker) ?? this.orphans.get(worker);
    if (link === undefined) return false;
    if (link.queue.push(message, approximateSize(message), MUST_KEEP.has(message.type))) return true;
    this.dropped++;
    return false;
  }

  /** Resolves once everything queued has been written. */
  async drained(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.queue.drained()));
  }

  /**
   * The router's `accept` for a frame from an endpoint of another node that
   * has no channel here: a worker's new link. Its first line must be a hello
   * that `admits` accepts, as on a socket.
   */
  acceptChannel(node: string, endpoint: string, admits: RemoteAdmission): AcceptedOwner | undefined {
    if (!/^w[0-9]{1,9}$/.test(endpoint)) return undefined;
    return new ChannelLink(this, node, endpoint, admits);
  }

  /**
   * A worker of another node is gone (its node died, or it exited): its link
   * goes, and the host hears it closed. A node held dead may only have been
   * cut off, though: the link's stream of writes is kept a while
   * (`ORPHAN_KEEP_MS`), suspended with its queue, which still takes what the
   * host sends that worker (the acks of events it was handling: lost, they
   * would leave the worker holding those events for good), and its channel is
   * reset, so that the worker, back, says hello again at once and continues
   * the stream, losing nothing.
   */
  dropRemoteWorker(worker: number, reason: string): void {
    const link = this.links.get(worker);
    if (link === undefined || !(link.socket instanceof ChannelLink)) return;
    const channelLink = link.socket;
    // What the host queued for the worker before this (its handlers' answers and acks, a turn behind the answers) goes in the
    // ending session, ahead of the reset: kept for the next hello instead, it would reach the worker a hello's round trip
    // after the answers, and a client answered meanwhile could find its worker still at its hold bound (1013, issue 13).
    link.queue.flush();
    const kept = channelLink.suspendForReturn();
    if (!kept) channelLink.destroy();
    else this.keepOrphan(worker, channelLink, link.queue);
    this.linkClosed(worker, channelLink, reason, kept);
  }

  private keepOrphan(worker: number, link: ChannelLink, queue: BatchQueue<ServiceToWorker>): void {
    this.dropOrphan(worker, undefined);
    const timer = setTimeout(() => this.dropOrphan(worker, undefined), ORPHAN_KEEP_MS);
    timer.unref();
    this.orphans.set(worker, { link, queue, timer });
  }

  /** Forgets `worker`'s kept stream, and ends its link unless it is `current` (the one its new session came on). */
  private dropOrphan(worker: number, current: ChannelLink | undefined): void {
    const orphan = this.orphans.get(worker);
    if (orphan === undefined) return;
    this.orphans.delete(worker);
    clearTimeout(orphan.timer);
    orphan.queue.close();
    if (orphan.link !== current) orphan.link.destroy();
  }

  /** A continuation hello from a worker whose link was dropped: its kept queue, when the stream can go on from `resume` (on this link or a new one). */
  private adoptOrphan(link: ChannelLink, worker: number, resume: LinkResume | undefined): BatchQueue<ServiceToWorker> | undefined {
    const orphan = this.orphans.get(worker);
    if (orphan === undefined || resume?.received === undefined) return undefined;
    if (orphan.link === link) {
      if (!link.continueStream(resume)) return undefined;
    } else {
      const kept = orphan.link.detachStream();
      if (kept === undefined || kept.stream !== resume.stream || !link.adoptStream(kept.stream, kept.endpoint, resume.received)) {
        kept?.endpoint.close();
        return undefined;
      }
    }
    this.orphans.delete(worker);
    clearTimeout(orphan.timer);
    if (orphan.link !== link) orphan.link.destroy();
    return orphan.queue;
  }

  /** @internal A channel link's hello: accepted (its queue registered) or refused. */
  channelHello(link: ChannelLink, value: unknown): number | 'parked' | undefined {
    const hello: unknown = Array.isArray(value) ? value[0] : undefined;
    if (!isWorkerToService(hello) || hello.type !== 'hello') return this.refuseChannel(link, {});
    if (!link.admits(link.node, link.endpoint, hello.worker)) return this.refuseChannel(link, { worker: hello.worker, node: link.node, reason: 'not a worker of that node' });
    if (this.remoteWorkers.get(link.node)?.has(hello.worker) !== true) {
      // Usually a worker faster than its node's heartbeat (at a start, or a heal): it waits for it, up to the hello deadline.
      this.log.debug({ worker: hello.worker, node: link.node }, 'channel hello waits for its node\'s heartbeat to list the worker');
      this.parked.add(link);
      return 'parked';
    }
    const existing = this.links.get(hello.worker);
    if (existing !== undefined && existing.socket !== link) return this.refuseChannel(link, { worker: hello.worker, reason: 'worker already linked' });
    // The same link again after its channel reset: the stream goes on where the worker's reading stopped, its queue kept.
    const resume = hello.resume;
    if (existing !== undefined && link.continueStream(resume)) return hello.worker;
    const adopted = existing === undefined ? this.adoptOrphan(link, hello.worker, resume) : undefined;
    if (adopted !== undefined) {
      this.links.set(hello.worker, { socket: link, queue: adopted });
      return hello.worker;
    }
    this.dropOrphan(hello.worker, link);
    // Else a new stream, with a new queue. A worker that asked to continue hears first that it could not (it closes its clients of this instance).
    existing?.queue.close();
    const lost = resume?.received !== undefined;
    if (lost) this.lostSessionWarning.warn({ worker: hello.worker, node: link.node, reason: existing === undefined ? 'this link is new here' : 'what the session had not delivered is no longer kept' });
    const endpoint = link.newEndpoint(this.limits, resume);
    const queue = this.newQueue(endpoint, hello.worker);
    if (lost) {
      const notice: ServiceToWorker = { type: 'sessionLost' };
      queue.push(notice, approximateSize(notice), true);
    }
    this.links.set(hello.worker, { socket: link, queue });
    return hello.worker;
  }

  /** @internal A batch from a linked worker, on either transport. */
  linkBatch(worker: number, value: unknown): void {
    const messages: WorkerToService[] = [];
    const rejected = readBatch(value, isWorkerToService, (message) => {
      if (message.type !== 'hello') messages.push(message);
    });
    if (rejected > 0) {
      this.rejectedMessages += rejected;
      this.malformedWarning.warn({ worker, rejected });
    }
    if (messages.length > 0) this.hooks.onBatch(worker, messages);
  }

  /** @internal A line that is not JSON, on either transport. */
  unreadable(error: Error, worker: number | undefined): void {
    this.rejectedMessages++;
    this.unreadableWarning.warn({ err: error, worker });
  }

  /** @internal */
  get helloTimeoutMs(): number {
    return this.options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
  }

  /** @internal */
  get logger(): Logger {
    return this.log;
  }

  /** The links of this node's workers: those a stop waits for (a remote worker's link has no close of its own). */
  private localLinks(): number {
    let count = 0;
    for (const link of this.links.values()) if (!(link.socket instanceof ChannelLink)) count++;
    return count;
  }

  /** @internal A parked hello's link ended (destroyed, reset), or its wait did: with `fields`, refused (and warned of). */
  endParked(link: ChannelLink, fields?: Record<string, unknown>): void {
    if (!this.parked.delete(link) || fields === undefined) return;
    this.refuseChannel(link, fields);
  }

  private refuseChannel(link: ChannelLink, fields: Record<string, unknown>): undefined {
    this.refusedLinks++;
    this.refusedWarning.warn(fields);
    if (!link.admitted) link.destroy();
    return undefined;
  }

  private newQueue(endpoint: SocketEndpoint | ChannelEndpoint, worker: number | undefined): BatchQueue<ServiceToWorker> {
    return new BatchQueue<ServiceToWorker>(endpoint, {
      maxMessages: this.limits.maxMessages,
      maxBytes: this.limits.maxBytes,
      onError: (error) => this.log.debug({ err: error, worker }, 'write to worker failed'),
    });
  }

  private linkClosed(worker: number, socket: Link['socket'], reason?: string, queueKept = false): void {
    const link = this.links.get(worker);
    if (link?.socket !== socket) return;
    if (!queueKept) link.queue.close();
    this.links.delete(worker);
    this.hooks.onClosed(worker, reason);
    if (this.localLinks() === 0) {
      const waiters = this.closedWaiters;
      this.closedWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves once no link is open (every worker has gone). */
  allClosed(): Promise<void> {
    if (this.localLinks() === 0) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  private accept(accepted: net.Socket): void {
    let worker: number | undefined;
    // The hooks run only once bytes arrive, after the lines below have run.
    const socket: net.Socket = acceptLink(accepted, MAX_LINE_LENGTH, {
      onValue: (value) => {
        // Lines read with a refused hello, in the same chunk: already answered.
        if (socket.destroyed) return;
        if (worker === undefined) {
          // The first line introduces the link: a batch that starts with the hello of a worker not linked yet.
          const hello: unknown = Array.isArray(value) ? value[0] : undefined;
          if (!isWorkerToService(hello) || hello.type !== 'hello') return refuse();
          // Checked before "already linked": an impostor learns nothing about which workers are linked.
          const refusal = this.admission.check(hello.worker, hello.secret);
          if (refusal !== undefined) return refuse({ worker: hello.worker, reason: refusal });
          if (this.links.has(hello.worker)) return refuse({ worker: hello.worker, reason: 'worker already linked' });
          clearTimeout(helloDeadline);
          worker = hello.worker;
          this.links.set(worker, { socket, queue });
        }
        this.linkBatch(worker, value);
      },
      onMalformed: (error) => {
        this.unreadable(error, worker);
        if (worker === undefined) refuse();
      },
      onOverflow: (length) => this.log.error({ worker, length }, 'worker sent an oversized line; link cut'),
      onBadRaw: (reason) => this.log.error({ worker, reason }, 'worker sent a bad raw segment length; link cut'),
    });
    socket.setNoDelay(true);
    const queue = this.newQueue(new SocketEndpoint(socket), undefined);
    const refuse = (fields?: Record<string, unknown>): void => {
      clearTimeout(helloDeadline);
      this.refusedLinks++;
      this.refusedWarning.warn(fields);
      socket.destroy();
    };
    // Links are few (one per worker), so one timer per connection costs nothing; it ends with the hello.
    const helloDeadline = setTimeout(() => refuse({ reason: 'no hello in time' }), this.options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS);
    socket.on('error', (error) => this.log.debug({ err: error, worker }, 'worker link error'));
    socket.once('close', () => {
      clearTimeout(helloDeadline);
      queue.close();
      if (worker !== undefined) this.linkClosed(worker, socket);
    });
  }
}

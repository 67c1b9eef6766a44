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
import { MAX_LINE_LENGTH, SocketEndpoint, listenAt, readLines } from '../ipc/socket-endpoint';
import type { Logger } from '../logger';
import { approximateSize, isWorkerToService, readBatch, type LinkControl, type ServiceToWorker, type WorkerToService } from '../protocol';
import { ThrottledWarning } from '../throttled-log';
import { LinkAdmission } from './link-admission';

/** What the link server reports to the service host. */
export interface LinkServerHooks {
  /** Messages from a linked worker, in order (never its `hello`). */
  onBatch(worker: number, messages: readonly WorkerToService[]): void;
  /** A worker's link closed: that worker is gone (or stopped). */
  onClosed(worker: number): void;
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
  readonly socket: net.Socket;
  readonly queue: BatchQueue<ServiceToWorker>;
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
  private closedWaiters: Array<() => void> = [];
  /** A broken or hostile peer on the socket can trigger these once per message, line or connection: throttled. */
  private readonly malformedWarning: ThrottledWarning;
  private readonly unreadableWarning: ThrottledWarning;
  private readonly refusedWarning: ThrottledWarning;

  constructor(
    private readonly limits: IpcLimits,
    private readonly log: Logger,
    private readonly hooks: LinkServerHooks,
    private readonly options: LinkServerOptions = {},
  ) {
    this.malformedWarning = new ThrottledWarning(log, 'malformed messages from worker ignored');
    this.unreadableWarning = new ThrottledWarning(log, 'unreadable line from worker ignored');
    this.refusedWarning = new ThrottledWarning(log, 'link without a valid hello refused');
    this.server = net.createServer((socket) => this.accept(socket));
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
    const link = this.links.get(worker);
    if (link === undefined) return false;
    if (link.queue.push(message, approximateSize(message), MUST_KEEP.has(message.type))) return true;
    this.dropped++;
    return false;
  }

  /** Resolves once everything queued has been written. */
  async drained(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.queue.drained()));
  }

  /** Resolves once no link is open (every worker has gone). */
  allClosed(): Promise<void> {
    if (this.links.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    let worker: number | undefined;
    const queue = new BatchQueue<ServiceToWorker>(new SocketEndpoint(socket), {
      maxMessages: this.limits.maxMessages,
      maxBytes: this.limits.maxBytes,
      onError: (error) => this.log.debug({ err: error, worker }, 'write to worker failed'),
    });
    const refuse = (fields?: Record<string, unknown>): void => {
      clearTimeout(helloDeadline);
      this.refusedLinks++;
      this.refusedWarning.warn(fields);
      socket.destroy();
    };
    // Links are few (one per worker), so one timer per connection costs nothing; it ends with the hello.
    const helloDeadline = setTimeout(() => refuse({ reason: 'no hello in time' }), this.options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS);
    readLines(socket, MAX_LINE_LENGTH, {
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
        const messages: WorkerToService[] = [];
        const rejected = readBatch(value, isWorkerToService, (message) => {
          if (message.type !== 'hello') messages.push(message);
        });
        if (rejected > 0) {
          this.rejectedMessages += rejected;
          this.malformedWarning.warn({ worker, rejected });
        }
        if (messages.length > 0) this.hooks.onBatch(worker, messages);
      },
      onMalformed: (error) => {
        this.rejectedMessages++;
        this.unreadableWarning.warn({ err: error, worker });
        if (worker === undefined) refuse();
      },
      onOverflow: (length) => this.log.error({ worker, length }, 'worker sent an oversized line; link cut'),
      onBadRaw: (reason) => this.log.error({ worker, reason }, 'worker sent a bad raw segment length; link cut'),
    });
    socket.on('error', (error) => this.log.debug({ err: error, worker }, 'worker link error'));
    socket.once('close', () => {
      clearTimeout(helloDeadline);
      queue.close();
      if (worker === undefined || this.links.get(worker)?.socket !== socket) return;
      this.links.delete(worker);
      this.hooks.onClosed(worker);
      if (this.links.size === 0) {
        const waiters = this.closedWaiters;
        this.closedWaiters = [];
        for (const resolve of waiters) resolve();
      }
    });
  }
}

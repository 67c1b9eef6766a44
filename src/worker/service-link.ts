/**
 * One worker's link to one service instance: a Unix-socket connection to the
 * running process of that instance (or a NATS channel to one on another
 * node, `link-channel.ts`), for this worker's clients it owns (a service with
 * N instances has N links per worker, each on its own).
 *
 * The link owns the connection and its states: `down` (no instance
 * reachable: crashed, restarting, reloading), `connecting`, `up`, `failed`
 * (the service crash-looped). When the master announces a new instance, the
 * link connects, says hello, and replays to it what its `ReplayLog`
 * (`replay-log.ts`) keeps: the delivery guarantees — sequence numbers, events
 * held until acknowledged, their bound, the known clients, quarantine — live
 * there; what the service sends back is read in `link-reader.ts`.
 */
import type * as net from 'node:net';
import { BatchQueue } from '../ipc/batch-queue';
import { MAX_LINE_LENGTH, SocketEndpoint, connectLink } from '../ipc/socket-endpoint';
import type { Logger } from '../logger';
import type { ChannelRouter } from '../nats/channel-router';
import type { ResetReason } from '../nats/reliable-channel';
import { parseRemoteEndpoint } from '../nats/process-router';
import { ChannelConnection } from './link-channel';
import { LinkReader } from './link-reader';
import {
  MESSAGE_OVERHEAD,
  approximateSize,
  type ClientInfo,
  type HttpRequestFields,
  type LinkLiveness,
  type LinkResume,
  type Payload,
  type ServiceToWorker,
  type WorkerToService,
} from '../protocol';
import { ReplayLog, type LinkLimits } from './replay-log';

/** `down`: no instance reachable (events are held); `failed`: the service crash-looped (events are refused). */
export type LinkState = 'down' | 'connecting' | 'up' | 'failed';

/** What `connect()` and `message()` answer: accepted, the service failed (1011), or the bound is reached (1013). */
export type LinkAdmission = 'ok' | 'failed' | 'full';

export interface ServiceLinkHooks {
  /** A batch of messages from the service, already checked (acks taken; possibly empty). */
  onBatch(link: ServiceLink, batch: readonly ServiceToWorker[]): void;
  /** The instance went away (crashed or retired): requests waiting for it will get no answer. */
  onInstanceGone(link: ServiceLink): void;
  /** Connected to a new instance: it knows no topic subscriptions, so the worker's routes for this service must go. */
  onFreshInstance(link: ServiceLink): void;
  /**
   * The instance at `endpoint` died and events reached `maxDeliveries`: they
   * and their clients' other events were dropped. Close `clients` with 1011
   * (a client whose poison was its close is gone already, and not in it).
   */
  onQuarantined(link: ServiceLink, clients: readonly string[], endpoint: string): void;
}

/** A link's connection: a Unix socket to an instance on this node, or a NATS channel to one on another (`link-channel.ts`). */
type Connection = net.Socket | ChannelConnection;

/** Bounds of the delay before reconnecting to an instance whose link closed while it was still announced. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/**
 * How long a client's connect or close may wait for others on its way to the
 * instance when another came just before it (batch-queue.ts `coalesceMs`): in
 * a storm each arrives in a turn of its own, and one write per event was the
 * largest part of the worker's own cost per connect. A lone one does not wait.
 */
const EVENT_COALESCE_MS = 2;

export class ServiceLink {
  private linkState: LinkState = 'down';
  /** Every client event until an instance acknowledged it, and the clients the instances know: what each new connection is replayed. */
  private readonly events: ReplayLog;
  /** What the instance sends back: checked, acks to `events`, the rest to `onBatch`. */
  private readonly reader: LinkReader;
  private socket: Connection | undefined;
  private queue: BatchQueue<WorkerToService> | undefined;
  private endpoint: string | undefined;
  /** This worker's secret for the instance at `endpoint`, for the hello (see `link-secret.ts`). */
  private secret = '';
  /** An instance announced while the previous one's socket was still closing: connect once it has. */
  private nextEndpoint: string | undefined;
  private nextSecret = '';
  /** Queue drops of the connections before this one (each connection has a queue of its own). */
  private droppedBefore = 0;
  /** Reconnects to the current instance after its socket closed unexpectedly, until the master announces another. */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  /** When the link last came up or stopped being up (epoch ms), for `/readyz`. */
  private upChangedAt = Date.now();
  /** The stream of the last channel connection dropped, and the instance it went to: the next connection to that same instance goes on with it. */
  private carried: { readonly endpoint: string; readonly resume: LinkResume } | undefined;
  /** Channel resets over the link's life (each one replayed, see `onChannelReset`). */
  channelResets = 0;

  /** This worker's clients that the instance owns (the intake counts them in and out), for the status report. */
  clientCount = 0;

  constructor(
    readonly service: string,
    private readonly workerId: number,
    private readonly limits: LinkLimits,
    private readonly log: Logger,
    private readonly hooks: ServiceLinkHooks,
    /** Which instance of the service this link reaches, and how it is named in reports (`instanceKey`: it changes when a reload changes the count). */
    readonly instance = 0,
    public key = service,
    /** This worker's NATS router, for instances on other nodes (`cluster`); opened on the first such link. */
    private readonly remoteRouter?: () => Promise<ChannelRouter>,
  ) {
    this.events = new ReplayLog(service, limits, log);
    this.reader = new LinkReader(this, hooks, this.events, {
      retired: () => this.retired(),
      channelReset: (connection, reason) => this.onChannelReset(connection, reason),
      endpoint: () => this.endpoint,
    }, log);
  }

  /** Where the link stands; it changes only through the link's own transitions. */
  get state(): LinkState {
    return this.linkState;
  }

  /** Messages (and unreadable lines) from the service that failed the protocol guard. */
  get rejectedMessages(): number {
    return this.reader.rejected;
  }

  /** Client events not acknowledged yet: in flight, being handled, or held while the service is down. */
  get heldCount(): number {
    return this.events.size;
  }

  /** Clients quarantined over the link's life (one poison event each). */
  get quarantinedClients(): number {
    return this.events.quarantinedClients;
  }

  /** The number of the last event numbered: read right after `connect()` or `message()` accepted one, that event's. */
  get lastSeq(): number {
    return this.events.lastSeq;
  }

  /** Whether event `seq` still waits for its acknowledgement (held, in flight or being handled). */
  isPending(seq: number): boolean {
    return this.events.isPending(seq);
  }

  get available(): boolean {
    return this.linkState === 'up';
  }

  /**
   * What this link knows of the service's liveness, for the worker's status
   * report: whether it is up and since when, and, while events wait for the
   * running instance, since when nothing was acknowledged (not before the
   * link came up: events held during an outage were not the instance's to
   * acknowledge).
   */
  get liveness(): LinkLiveness {
    const up = this.linkState === 'up';
    if (!up || this.events.size === 0) return { up, since: this.upChangedAt };
    return { up, since: this.upChangedAt, waitingSince: Math.max(this.events.waitingSince, this.upChangedAt) };
  }

  /** The master announced an instance listening at `endpoint`, to which this worker presents `secret`. */
  instanceUp(endpoint: string, secret: string): void {
    this.cancelRetry();
    this.retryDelay = RETRY_MIN_MS;
    if (this.linkState === 'failed') this.linkState = 'down';
    if (this.socket !== undefined) {
      if (endpoint === this.endpoint) return;
      this.nextEndpoint = endpoint;
      this.nextSecret = secret;
      // The old instance is dead or retiring; its socket closes by itself, and its last acks may still be in it. A channel has no close of its own.
      if (this.socket instanceof ChannelConnection) this.dropChannel(this.socket, this.endpoint);
      return;
    }
    this.open(endpoint, secret);
  }

  /**
   * The master no longer sees the instance on another node (its node is
   * dead, or its process went away): events are held until it is announced
   * again, then replayed to it, as for an instance of this node that died.
   */
  instanceDown(): void {
    if (this.socket instanceof ChannelConnection) {
      const endpoint = this.endpoint;
      this.endpoint = undefined;
      this.dropChannel(this.socket, endpoint);
    }
  }

  /** Ends a channel connection as a closed socket ends: down, the instance gone, the next endpoint (if any) opened. */
  private dropChannel(connection: ChannelConnection, endpoint: string | undefined): void {
    // The instance's process may well live on (its node was only cut off): a later connection to it continues this one's stream.
    if (endpoint !== undefined) this.carried = { endpoint, resume: connection.carry };
    connection.destroy();
    this.onClosed(connection);
  }

  /** The service crash-looped: everything kept for it is dropped; the caller closes its clients. */
  instanceFailed(): void {
    this.cancelRetry();
    if (this.linkState === 'up') this.upChangedAt = Date.now();
    this.linkState = 'failed';
    this.events.clear();
    this.nextEndpoint = undefined;
    this.socket?.destroy();
  }

  /** Announces a new client, numbered and kept until the service acknowledges its `onConnect`. */
  connect(client: ClientInfo): LinkAdmission {
    if (this.linkState === 'failed') return 'failed';
    // Sent at once while up; otherwise held for the next connection's replay.
    return this.events.connect(client, this.linkState === 'up' ? this.queue : undefined) ? 'ok' : 'full';
  }

  /** Queues a client message, numbered and kept until acknowledged. */
  message(id: string, data: string | Buffer, binary: boolean, ts: number | undefined): LinkAdmission {
    if (this.linkState === 'failed') return 'failed';
    return this.events.message(id, data, binary, ts, this.linkState === 'up' ? this.queue : undefined) ? 'ok' : 'full';
  }

  /** Reports that a client closed (a `closed` message), kept until the service acknowledges its `onClose`; dropped when the service failed. */
  closed(id: string, code: number, reason: string): void {
    if (this.linkState === 'failed') return;
    this.events.closed(id, code, reason, this.linkState === 'up' ? this.queue : undefined);
  }

  /**
   * Tells the instance that `topic` has a subscriber on this worker (`on`) or
   * no longer has one. Only while up: a new connection gets the whole set from
   * `onFreshInstance`. Never dropped (bounded by the topics, not by traffic).
   */
  interest(topic: string, on: boolean): void {
    if (this.linkState !== 'up' || this.queue === undefined) return;
    this.queue.push({ type: 'interest', topic, on }, topic.length + MESSAGE_OVERHEAD, true);
  }

  /** Sends an HTTP request; false unless the service runs (requests are answered 503, not held). */
  request(fields: HttpRequestFields & Payload): boolean {
    if (this.linkState !== 'up' || this.queue === undefined) return false;
    const message: WorkerToService = { type: 'request', ...fields };
    return this.queue.push(message, approximateSize(message));
  }

  /** Asks the instance to publish (the worker's HTTP app); false while the link is not up or its queue is full. */
  publish(fields: Omit<Extract<WorkerToService, { type: 'publish' }>, 'type'>): boolean {
    if (this.linkState !== 'up' || this.queue === undefined) return false;
    const message: WorkerToService = { type: 'publish', ...fields };
    return this.queue.push(message, approximateSize(message));
  }

  /** Messages that could not be queued because the socket's queue was full, over the link's life. */
  get queueDropped(): number {
    return this.droppedBefore + (this.queue?.dropped ?? 0);
  }

  /** Resolves once everything queued has been written. */
  drained(): Promise<void> {
    return this.queue?.drained() ?? Promise.resolve();
  }

  /** Ends the link for good (the worker stops): what was queued still reaches the service. */
  end(): void {
    this.cancelRetry();
    this.linkState = 'failed';
    this.nextEndpoint = undefined;
    const socket = this.socket;
    if (socket === undefined) return;
    // The queue writes on a later turn: ending the socket now would make it drop what it holds.
    void this.drained().then(() => (socket instanceof ChannelConnection ? socket.destroy() : socket.end()));
  }

  private open(endpoint: string, secret: string): void {
    this.endpoint = endpoint;
    this.secret = secret;
    this.nextEndpoint = undefined;
    this.linkState = 'connecting';
    const remote = parseRemoteEndpoint(endpoint);
    if (remote !== undefined) {
      const carried = this.carried?.endpoint === endpoint ? this.carried.resume : undefined;
      this.carried = undefined;
      return this.openChannel(new ChannelConnection(remote, this.reader.channelHooks, carried));
    }
    const socket = connectLink(endpoint, MAX_LINE_LENGTH, this.reader.socketHooks);
    this.socket = socket;
    socket.setNoDelay(true);
    socket.once('connect', () => this.onConnected(socket));
    socket.on('error', (error) => this.log.debug({ err: error, service: this.service, endpoint }, 'service link error'));
    socket.once('close', () => this.onClosed(socket));
  }

  /** An instance on another node: the channel opens once this worker's NATS connection is up. */
  private openChannel(connection: ChannelConnection): void {
    this.socket = connection;
    const router = this.remoteRouter?.();
    if (router === undefined) {
      this.log.error({ service: this.service, endpoint: this.endpoint }, 'an instance on another node was announced but this worker has no NATS settings');
      return;
    }
    router.then(
      (opened) => {
        if (this.socket !== connection || !connection.attach(opened)) return;
        this.onConnected(connection);
      },
      (error: unknown) => {
        this.log.error({ err: error, service: this.service }, 'NATS unreachable for a link to another node; retrying');
        connection.destroy();
        this.onClosed(connection);
      },
    );
  }

  /**
   * The channel's session ended (a gap it could not fill, or the peer's
   * reset): what crossed it either way may be lost, but the instance is the
   * same process. The link re-hellos and replays exactly as on a reconnect
   * (resumed connects, then every unacknowledged event, marked redelivered
   * where it was sent), without counting a death towards quarantine and
   * without dropping the worker's topic routes (the instance keeps its
   * subscriptions).
   */
  private onChannelReset(connection: ChannelConnection, reason: ResetReason): void {
    if (connection !== this.socket || this.linkState !== 'up') return;
    this.channelResets++;
    this.log.warn({ service: this.service, endpoint: this.endpoint, reason }, 'NATS link channel reset; replaying');
    this.queue?.close();
    this.droppedBefore += this.queue?.dropped ?? 0;
    this.queue = undefined;
    this.linkState = 'connecting';
    this.onConnected(connection, false);
  }

  private onConnected(socket: Connection, fresh = true): void {
    if (socket !== this.socket || this.linkState !== 'connecting') return;
    this.queue = new BatchQueue<WorkerToService>(socket instanceof ChannelConnection ? socket.newEndpoint() : new SocketEndpoint(socket), {
      maxMessages: this.limits.maxMessages,
      maxBytes: this.limits.maxBytes,
      coalesceMs: EVENT_COALESCE_MS,
      onError: (error) => this.onWriteFailed(socket, error),
    });
    this.linkState = 'up';
    this.upChangedAt = Date.now();
    this.retryDelay = RETRY_MIN_MS;
    const hello: WorkerToService =
      socket instanceof ChannelConnection
        ? { type: 'hello', worker: this.workerId, secret: this.secret, resume: socket.resume }
        : { type: 'hello', worker: this.workerId, secret: this.secret };
    this.queue.push(hello, MESSAGE_OVERHEAD, true);
    if (fresh) this.hooks.onFreshInstance(this);
    this.events.replay(this.queue);
  }

  private onClosed(socket: Connection): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.queue?.close();
    this.droppedBefore += this.queue?.dropped ?? 0;
    this.queue = undefined;
    const wasUp = this.linkState === 'up';
    if (this.linkState === 'failed') return;
    this.linkState = 'down';
    if (wasUp) {
      this.upChangedAt = Date.now();
      // Quarantined before anything is replayed (one that retired took the link down first, so its close is not counted).
      const poisoned = this.events.countLost();
      if (poisoned !== undefined) this.hooks.onQuarantined(this, poisoned, this.endpoint as string);
      this.hooks.onInstanceGone(this);
    }
    const next = this.nextEndpoint;
    if (next !== undefined) return this.open(next, this.nextSecret);
    // Still the announced instance (a broken link, or one that is retiring): try again, more slowly each time.
    const endpoint = this.endpoint;
    if (endpoint === undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.linkState === 'down' && this.socket === undefined && this.endpoint === endpoint) this.open(endpoint, this.secret);
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  /**
   * A write failed and its queue closed itself, but the socket may stay open
   * (a write that threw, or one whose callback got an error): without this the
   * link would stay `up` with a dead queue until clients got 1013. It takes
   * the path of a closed socket instead: down, reconnect, replay.
   */
  private onWriteFailed(socket: Connection, error: Error): void {
    this.log.debug({ err: error, service: this.service }, 'write to service failed; link cut');
    if (socket !== this.socket) return;
    // A channel's write fails when its session reset: the reset replays on the same channel.
    if (socket instanceof ChannelConnection) return;
    socket.destroy();
    // At once, not on 'close' (a later turn): until then events would go to the dead queue.
    this.onClosed(socket);
  }

  private cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** The instance stops without handling anything more: what it has not acknowledged goes to the next one, unmarked. */
  private retired(): void {
    if (this.linkState !== 'up') return;
    this.linkState = 'down';
    this.upChangedAt = Date.now();
    this.events.markUnhandled();
    this.queue?.close();
    this.hooks.onInstanceGone(this);
  }
}

/**
 * One worker's link to one service instance: a Unix-socket connection to the
 * running process of that instance, and the delivery guarantees for this
 * worker's clients it owns (a service with N instances has N links per worker,
 * each on its own).
 *
 * Every client event — connect, message, close — gets a sequence number and
 * stays in `unacked` until the service reports that its handler (`onConnect`,
 * `onMessage`, `onClose`) has settled; while the service is down (crashed,
 * restarting, reloading) new events wait there too, unsent. A client is
 * `known` once an instance acknowledged its connect, until one acknowledged
 * its close. When the master announces a new instance, the link connects and
 * replays: `connect` (with `resumed: true`) for every known client, then
 * `resumeEnd` (the instance waits for every worker's before it handles
 * events, so no worker's replay runs before another's resumes), then every
 * unacknowledged event in order — messages an instance received but did not
 * finish marked `redelivered`, unless it said it never handled them. Nothing
 * a client did is lost or reordered, whichever instance dies when. The bound
 * (the IPC limits) covers messages and connects; past it `message()` and
 * `connect()` refuse, and the worker closes that client with 1013. Closes pass
 * it: there is at most one per connect.
 *
 * A poison event — one that kills every instance it reaches — would be
 * replayed into a crash loop and fail the service for everyone. So each event
 * counts the instances that went away while it was sent and unacknowledged
 * (a retire does not count: that instance stopped without handling it); at
 * `maxDeliveries` it is quarantined: it and everything its client still has
 * here are dropped, and the worker closes that client with 1011 "message
 * quarantined" (`onQuarantined`). Events that were merely in flight beside
 * the poison count too, but only one that was beside it at every one of those
 * deaths reaches the limit with it.
 */
import type * as net from 'node:net';
import type { IpcLimits } from '../child-env';
import { CLOSE_CODES } from '../errors';
import { BatchQueue } from '../ipc/batch-queue';
import { MAX_LINE_LENGTH, SocketEndpoint, connectLink } from '../ipc/socket-endpoint';
import type { Logger } from '../logger';
import type { ChannelRouter } from '../nats/channel-router';
import type { ResetReason } from '../nats/reliable-channel';
import { parseRemoteEndpoint } from '../nats/process-router';
import { ChannelConnection, type ChannelConnectionHooks } from './link-channel';
import {
  MESSAGE_OVERHEAD,
  approximateSize,
  isServiceToWorker,
  readBatch,
  type ClientInfo,
  type HttpRequestFields,
  type LinkLiveness,
  type LinkResume,
  type Payload,
  type ServiceToWorker,
  type WorkerToService,
} from '../protocol';
import { ThrottledWarning } from '../throttled-log';

/** `down`: no instance reachable (events are held); `failed`: the service crash-looped (events are refused). */
export type LinkState = 'down' | 'connecting' | 'up' | 'failed';

type SequencedMessage = Extract<WorkerToService, { type: 'message' }>;
type SequencedEvent = Extract<WorkerToService, { type: 'message' | 'closed' } | { type: 'connect'; seq: number }>;

/** What `connect()` and `message()` answer: accepted, the service failed (1011), or the bound is reached (1013). */
export type LinkAdmission = 'ok' | 'failed' | 'full';

/** The link's bounds: the IPC limits, and how often an event may go down with an instance before it is quarantined. */
export interface LinkLimits extends IpcLimits {
  readonly maxDeliveries: number;
}

interface Unacked {
  readonly message: SequencedEvent;
  readonly size: number;
  /** The connection (generation) it was last sent on; 0 when not sent yet. */
  sentTo: number;
  /** The instance it was sent to retired without handling it: resend it unmarked. */
  unhandled: boolean;
  /** Instances that went away (not retired) while it was sent to them and unacknowledged. */
  lost: number;
}

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
  private rejected = 0;
  /** A broken or hostile service can trigger these once per message or line: throttled. */
  private readonly malformedWarning: ThrottledWarning;
  private readonly unreadableWarning: ThrottledWarning;
  /** Each quarantine follows `maxDeliveries` crashes, but many clients may send a poison at once. */
  private readonly quarantineWarning: ThrottledWarning;
  private quarantinedCount = 0;
  /**
   * Quarantined clients whose close has not been reported yet: what they
   * still send is dropped (they were told with 1011); the value says whether
   * their close is reported to the service (false: no instance acknowledged
   * their connect, so none knows them). An entry goes with the client's close,
   * which the worker's 1011 brings promptly.
   */
  private readonly quarantined = new Map<string, boolean>();
  private socket: Connection | undefined;
  private queue: BatchQueue<WorkerToService> | undefined;
  private endpoint: string | undefined;
  /** This worker's secret for the instance at `endpoint`, for the hello (see `link-secret.ts`). */
  private secret = '';
  /** An instance announced while the previous one's socket was still closing: connect once it has. */
  private nextEndpoint: string | undefined;
  private nextSecret = '';
  private generation = 0;
  /** Queue drops of the connections before this one (each connection has a queue of its own). */
  private droppedBefore = 0;
  /** Reconnects to the current instance after its socket closed unexpectedly, until the master announces another. */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  private nextSeq = 1;
  private readonly unacked = new Map<number, Unacked>();
  private unackedBytes = 0;
  /** When the link last came up or stopped being up (epoch ms), for `/readyz`. */
  private upChangedAt = Date.now();
  /** Since when the events in `unacked` have waited with no acknowledgement (epoch ms); meaningful while it is not empty. */
  private waitingSince = 0;
  /** Clients whose connect an instance acknowledged and whose close none has yet: replayed as resumed. */
  private readonly known = new Map<string, ClientInfo>();
  private readonly onBatchValue = (value: unknown): void => {
    const valid: ServiceToWorker[] = [];
    const rejected = readBatch(value, isServiceToWorker, (message) => {
      if (message.type === 'ack') this.acknowledge(message.seqs);
      else if (message.type === 'retired') this.retired();
      else if (message.type === 'sessionLost') this.sessionLost(valid);
      else valid.push(message);
    });
    if (rejected > 0) {
      this.rejected += rejected;
      this.malformedWarning.warn({ service: this.service, rejected });
    }
    this.hooks.onBatch(this, valid);
  };

  /** What the channel connections report (one object for the link's life: no closure per connection). */
  private readonly channelHooks: ChannelConnectionHooks = {
    onValue: this.onBatchValue,
    onMalformed: (error) => {
      this.rejected++;
      this.unreadableWarning.warn({ err: error, service: this.service });
    },
    onOverflow: (length) => this.log.error({ service: this.service, length }, 'service sent an oversized line; channel reset'),
    onBadRaw: (reason) => this.log.error({ service: this.service, reason }, 'service sent a bad raw segment length; channel reset'),
    onReset: (connection, reason) => this.onChannelReset(connection, reason),
  };
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
    this.malformedWarning = new ThrottledWarning(log, 'malformed messages from service ignored');
    this.unreadableWarning = new ThrottledWarning(log, 'unreadable line from service ignored');
    this.quarantineWarning = new ThrottledWarning(log, 'client event quarantined: every instance it was delivered to died; its client is closed with 1011');
  }

  /** Where the link stands; it changes only through the link's own transitions. */
  get state(): LinkState {
    return this.linkState;
  }

  /** Messages (and unreadable lines) from the service that failed the protocol guard. */
  get rejectedMessages(): number {
    return this.rejected;
  }

  /** Client events not acknowledged yet: in flight, being handled, or held while the service is down. */
  get heldCount(): number {
    return this.unacked.size;
  }

  /** Clients quarantined over the link's life (one poison event each). */
  get quarantinedClients(): number {
    return this.quarantinedCount;
  }

  /** The number of the last event numbered: read right after `connect()` or `message()` accepted one, that event's. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Whether event `seq` still waits for its acknowledgement (held, in flight or being handled). */
  isPending(seq: number): boolean {
    return this.unacked.has(seq);
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
    if (!up || this.unacked.size === 0) return { up, since: this.upChangedAt };
    return { up, since: this.upChangedAt, waitingSince: Math.max(this.waitingSince, this.upChangedAt) };
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
    this.unacked.clear();
    this.unackedBytes = 0;
    this.known.clear();
    this.quarantined.clear();
    this.nextEndpoint = undefined;
    this.socket?.destroy();
  }

  /** Announces a new client, numbered and kept until the service acknowledges its `onConnect`. */
  connect(client: ClientInfo): LinkAdmission {
    if (this.linkState === 'failed') return 'failed';
    if (this.unacked.size >= this.limits.maxMessages) return 'full';
    this.keep({ type: 'connect', client, seq: this.nextSeq++ }, MESSAGE_OVERHEAD);
    return 'ok';
  }

  /** Queues a client message, numbered and kept until acknowledged. */
  message(id: string, data: string | Buffer, binary: boolean, ts: number | undefined): LinkAdmission {
    if (this.linkState === 'failed') return 'failed';
    // Sent before the client got its 1011: dropped, as the rest of its events were.
    if (this.quarantined.size !== 0 && this.quarantined.has(id)) return 'ok';
    const size = data.length + MESSAGE_OVERHEAD;
    if (this.unacked.size >= this.limits.maxMessages || this.unackedBytes + size > this.limits.maxBytes) return 'full';
    const seq = this.nextSeq++;
    // Built field by field: one allocation on the hottest path of the worker.
    const message: SequencedMessage =
      binary
        ? ts === undefined
          ? { type: 'message', id, seq, data, binary: true }
          : { type: 'message', id, seq, data, binary: true, ts }
        : ts === undefined
          ? { type: 'message', id, seq, data }
          : { type: 'message', id, seq, data, ts };
    this.keep(message, size);
    return 'ok';
  }

  /** Reports that a client closed (a `closed` message), kept until the service acknowledges its `onClose`; dropped when the service failed. */
  closed(id: string, code: number, reason: string): void {
    if (this.linkState === 'failed') return;
    const reported = this.quarantined.get(id);
    if (reported !== undefined) {
      this.quarantined.delete(id);
      if (!reported) return;
    }
    this.keep({ type: 'closed', id, code, reason, seq: this.nextSeq++ }, MESSAGE_OVERHEAD);
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
      return this.openChannel(new ChannelConnection(remote, this.channelHooks, carried));
    }
    const socket = connectLink(endpoint, MAX_LINE_LENGTH, {
      onValue: this.onBatchValue,
      onMalformed: (error) => {
        this.rejected++;
        this.unreadableWarning.warn({ err: error, service: this.service });
      },
      onOverflow: (length) => this.log.error({ service: this.service, length }, 'service sent an oversized line; link cut'),
      onBadRaw: (reason) => this.log.error({ service: this.service, reason }, 'service sent a bad raw segment length; link cut'),
    });
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

  /**
   * The instance could not continue the channel's stream after a reset (it
   * no longer held what the ended session had not delivered): what it sent
   * to this worker's clients may be lost, so they are closed with 1012 and
   * reconnect (`into`: the batch's messages, which close them). Its clients
   * here are those it knows and those whose connect it was sent.
   */
  private sessionLost(into: ServiceToWorker[]): void {
    const ids = new Set(this.known.keys());
    for (const entry of this.unacked.values()) if (entry.message.type === 'connect' && entry.sentTo !== 0) ids.add(entry.message.client.id);
    this.log.warn({ service: this.service, endpoint: this.endpoint, clients: ids.size }, 'NATS link session lost: what the service sent may be lost; its clients here are closed with 1012');
    for (const id of ids) into.push({ type: 'closeClient', id, code: CLOSE_CODES.SERVICE_RESTART, reason: 'service link lost' });
  }

  private onConnected(socket: Connection, fresh = true): void {
    if (socket !== this.socket || this.linkState !== 'connecting') return;
    this.generation++;
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
    for (const client of this.known.values()) {
      const resume: WorkerToService = { type: 'connect', client, resumed: true };
      this.queue.push(resume, approximateSize(resume), true);
    }
    // Everything this instance must know before it handles anyone's events (resume-gate.ts): the events follow.
    this.queue.push({ type: 'resumeEnd' }, MESSAGE_OVERHEAD, true);
    let redelivered = 0;
    let held = 0;
    for (const entry of this.unacked.values()) {
      if (entry.sentTo === 0) held++;
      else if (!entry.unhandled) redelivered++;
      this.send(entry);
    }
    if (this.known.size > 0 || redelivered > 0 || held > 0) {
      this.log.info({ service: this.service, clients: this.known.size, redelivered, held }, 'service link up; clients resumed');
    }
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
      this.countLost();
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
    for (const entry of this.unacked.values()) if (entry.sentTo !== 0) entry.unhandled = true;
    this.queue?.close();
    this.hooks.onInstanceGone(this);
  }

  /**
   * The instance went away while up: every event sent to it and left
   * unacknowledged went down with it once more. Those at `maxDeliveries` are
   * quarantined, with their clients, before anything is replayed. (One that
   * retired took the link down first, so its socket's close is not counted.)
   */
  private countLost(): void {
    // Client id → the type of its (first) event at the limit, for the log line.
    let poisoned: Map<string, SequencedEvent['type']> | undefined;
    for (const entry of this.unacked.values()) {
      if (entry.sentTo !== this.generation) continue;
      entry.lost++;
      if (entry.lost < this.limits.maxDeliveries) continue;
      poisoned ??= new Map();
      const id = clientOf(entry.message);
      if (!poisoned.has(id)) poisoned.set(id, entry.message.type);
    }
    if (poisoned === undefined) return;
    const toClose: string[] = [];
    for (const [id, event] of poisoned) if (this.quarantine(id, event)) toClose.push(id);
    this.hooks.onQuarantined(this, toClose, this.endpoint as string);
  }

  /** Drops everything client `id` has here; the next instance hears nothing of it but its close. True when the client is still to be closed. */
  private quarantine(id: string, event: SequencedEvent['type']): boolean {
    let closeDropped = false;
    let dropped = 0;
    for (const [seq, entry] of this.unacked) {
      if (clientOf(entry.message) !== id) continue;
      this.unacked.delete(seq);
      this.unackedBytes -= entry.size;
      if (entry.message.type === 'closed') closeDropped = true;
      dropped++;
    }
    this.quarantinedCount++;
    this.quarantineWarning.warn({ service: this.service, client: id, event, deliveries: this.limits.maxDeliveries, dropped });
    if (closeDropped) {
      // The client is gone already and its onClose was the poison: no instance hears of it again.
      this.known.delete(id);
      return false;
    }
    // A client whose connect was never acknowledged (it may be the poison) is known to no instance: its close is not reported either.
    this.quarantined.set(id, this.known.has(id));
    return true;
  }

  private keep(message: SequencedEvent, size: number): void {
    const entry: Unacked = { message, size, sentTo: 0, unhandled: false, lost: 0 };
    // The first event to wait starts the clock; later ones wait behind it.
    if (this.unacked.size === 0) this.waitingSince = Date.now();
    this.unacked.set(message.seq, entry);
    this.unackedBytes += size;
    if (this.linkState === 'up') this.send(entry);
  }

  private send(entry: Unacked): void {
    const { message } = entry;
    const resent = entry.sentTo !== 0 && !entry.unhandled;
    entry.sentTo = this.generation;
    entry.unhandled = false;
    // The bound is enforced on `unacked`, which covers this queue.
    if (message.type !== 'message') this.queue?.push(message, entry.size, true, true);
    else this.queue?.push(resent ? { ...message, redelivered: true } : message, entry.size, true);
  }

  private acknowledge(seqs: readonly number[]): void {
    // Any acknowledgement is progress: what still waits has waited since now.
    if (seqs.length > 0) this.waitingSince = Date.now();
    for (const seq of seqs) {
      const entry = this.unacked.get(seq);
      if (entry === undefined) continue;
      this.unacked.delete(seq);
      this.unackedBytes -= entry.size;
      const { message } = entry;
      if (message.type === 'connect') this.known.set(message.client.id, message.client);
      else if (message.type === 'closed') this.known.delete(message.id);
    }
  }
}

/** The client an event is about. */
function clientOf(message: SequencedEvent): string {
  return message.type === 'connect' ? message.client.id : message.id;
}

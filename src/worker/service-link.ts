/**
 * One worker's link to one service: a Unix-socket connection to the running
 * instance, and the delivery guarantees for this worker's clients of it.
 *
 * Every client message gets a sequence number and stays in `unacked` until
 * the service reports that its handler has settled. While the service is down
 * (crashed, restarting, reloading), new messages wait there too, and connects
 * and closes wait in `held`, in arrival order. When the master announces a new
 * instance, the link connects and replays: `connect` (with `resumed: true`)
 * for every client the previous instance knew, then the messages that instance
 * received but did not finish (marked `redelivered`, unless it said it never
 * handled them), then everything that arrived while it was down, in order.
 * `unacked` is bounded by the IPC limits; past the bound `message()` refuses,
 * and the worker closes that client with 1013.
 */
import * as net from 'node:net';
import type { IpcLimits } from '../child-env';
import { BatchQueue } from '../ipc/batch-queue';
import { MAX_LINE_LENGTH, SocketEndpoint, readLines } from '../ipc/socket-endpoint';
import type { Logger } from '../logger';
import {
  MESSAGE_OVERHEAD,
  approximateSize,
  isServiceToWorker,
  readBatch,
  type ClientInfo,
  type HttpRequestFields,
  type Payload,
  type ServiceToWorker,
  type WorkerToService,
} from '../protocol';

/** `down`: no instance reachable (events are held); `failed`: the service crash-looped (events are refused). */
export type LinkState = 'down' | 'connecting' | 'up' | 'failed';

type SequencedMessage = Extract<WorkerToService, { type: 'message' }>;
type ClientEvent = Extract<WorkerToService, { type: 'connect' | 'close' }>;

/** What arrived while the service was down, in order: a message (by seq) or a client event. */
type Held = { readonly seq: number } | { readonly event: ClientEvent };

interface Unacked {
  readonly message: SequencedMessage;
  readonly size: number;
  /** The connection (generation) it was last sent on; 0 when not sent yet. */
  sentTo: number;
  /** The instance it was sent to retired without handling it: resend it unmarked. */
  unhandled: boolean;
}

export interface ServiceLinkHooks {
  /** A batch of messages from the service, already checked. */
  onBatch(link: ServiceLink, batch: readonly ServiceToWorker[]): void;
  /** Connected to a new instance: it knows no topic subscriptions, so the worker's routes for this service must go. */
  onFreshInstance(link: ServiceLink): void;
}

/** Bounds of the delay before reconnecting to an instance whose link closed while it was still announced. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;


export class ServiceLink {
  state: LinkState = 'down';
  /** Messages from the service that failed the protocol guard. */
  rejectedMessages = 0;
  private socket: net.Socket | undefined;
  private queue: BatchQueue<WorkerToService> | undefined;
  private endpoint: string | undefined;
  /** An instance announced while the previous one's socket was still closing: connect once it has. */
  private nextEndpoint: string | undefined;
  private generation = 0;
  /** Reconnects to the current instance after its socket closed unexpectedly, until the master announces another. */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  private nextSeq = 1;
  private readonly unacked = new Map<number, Unacked>();
  private unackedBytes = 0;
  /** Clients the running (or last) instance was told about and not yet told are gone. */
  private readonly known = new Map<string, ClientInfo>();
  private held: Held[] = [];
  private readonly onBatchValue = (value: unknown): void => {
    const valid: ServiceToWorker[] = [];
    const rejected = readBatch(value, isServiceToWorker, (message) => {
      if (message.type === 'ack') this.acknowledge(message.seqs);
      else if (message.type === 'retired') this.retired();
      else valid.push(message);
    });
    if (rejected > 0) {
      this.rejectedMessages += rejected;
      this.log.warn({ service: this.service, rejected }, 'malformed messages from service ignored');
    }
    if (valid.length > 0) this.hooks.onBatch(this, valid);
  };

  constructor(
    readonly service: string,
    private readonly workerId: number,
    private readonly limits: IpcLimits,
    private readonly log: Logger,
    private readonly hooks: ServiceLinkHooks,
  ) {}

  /** Client messages not acknowledged yet: in flight, being handled, or held while the service is down. */
  get heldCount(): number {
    return this.unacked.size;
  }

  get available(): boolean {
    return this.state === 'up';
  }

  /** The master announced an instance listening at `endpoint`. */
  instanceUp(endpoint: string): void {
    this.cancelRetry();
    this.retryDelay = RETRY_MIN_MS;
    if (this.state === 'failed') this.state = 'down';
    if (this.socket !== undefined) {
      if (endpoint === this.endpoint) return;
      // The old instance is dead or retiring; its socket closes by itself. Its last acks may still be in it.
      this.nextEndpoint = endpoint;
      return;
    }
    this.open(endpoint);
  }

  /** The service crash-looped: everything kept for it is dropped; the caller closes its clients. */
  instanceFailed(): void {
    this.cancelRetry();
    this.state = 'failed';
    this.unacked.clear();
    this.unackedBytes = 0;
    this.held = [];
    this.known.clear();
    this.nextEndpoint = undefined;
    this.socket?.destroy();
  }

  /** Announces a new client; false when the service failed (the caller closes it with 1011). */
  connect(client: ClientInfo): boolean {
    if (this.state === 'failed') return false;
    const event: ClientEvent = { type: 'connect', client };
    if (this.state === 'up') this.sendEvent(event);
    else this.held.push({ event });
    return true;
  }

  /** Queues a client message, numbered and kept until acknowledged; false past the bound or when the service failed. */
  message(id: string, data: string, binary: boolean, ts: number | undefined): boolean {
    if (this.state === 'failed') return false;
    const size = data.length + MESSAGE_OVERHEAD;
    if (this.unacked.size >= this.limits.maxMessages || this.unackedBytes + size > this.limits.maxBytes) return false;
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
    const entry: Unacked = { message, size, sentTo: 0, unhandled: false };
    this.unacked.set(seq, entry);
    this.unackedBytes += size;
    if (this.state === 'up') this.send(entry);
    else this.held.push({ seq });
    return true;
  }

  /** Reports a client's close; held while the service is down, dropped when it failed. */
  close(id: string, code: number, reason: string): void {
    if (this.state === 'failed') return;
    const event: ClientEvent = { type: 'close', id, code, reason };
    if (this.state === 'up') this.sendEvent(event);
    else this.held.push({ event });
  }

  /** Sends an HTTP request; false unless the service runs (requests are answered 503, not held). */
  request(fields: HttpRequestFields & Payload): boolean {
    if (this.state !== 'up' || this.queue === undefined) return false;
    const message: WorkerToService = { type: 'request', ...fields };
    return this.queue.push(message, approximateSize(message));
  }

  /** Messages that could not be queued because the socket's queue was full. */
  get queueDropped(): number {
    return this.queue?.dropped ?? 0;
  }

  /** Resolves once everything queued has been written. */
  drained(): Promise<void> {
    return this.queue?.drained() ?? Promise.resolve();
  }

  /** Ends the link for good (the worker stops): what was queued still reaches the service. */
  end(): void {
    this.cancelRetry();
    this.state = 'failed';
    this.nextEndpoint = undefined;
    const socket = this.socket;
    if (socket === undefined) return;
    // The queue writes on a later turn: ending the socket now would make it drop what it holds.
    void this.drained().then(() => socket.end());
  }

  private open(endpoint: string): void {
    this.endpoint = endpoint;
    this.nextEndpoint = undefined;
    this.state = 'connecting';
    const socket = net.connect(endpoint);
    this.socket = socket;
    socket.setNoDelay(true);
    readLines(socket, MAX_LINE_LENGTH, {
      onValue: this.onBatchValue,
      onMalformed: (error) => {
        this.rejectedMessages++;
        this.log.warn({ err: error, service: this.service }, 'unreadable line from service ignored');
      },
      onOverflow: (length) => this.log.error({ service: this.service, length }, 'service sent an oversized line; link cut'),
    });
    socket.once('connect', () => this.onConnected(socket));
    socket.on('error', (error) => this.log.debug({ err: error, service: this.service, endpoint }, 'service link error'));
    socket.once('close', () => this.onClosed(socket));
  }

  private onConnected(socket: net.Socket): void {
    if (socket !== this.socket || this.state !== 'connecting') return;
    this.generation++;
    this.queue = new BatchQueue<WorkerToService>(new SocketEndpoint(socket), {
      maxMessages: this.limits.maxMessages,
      maxBytes: this.limits.maxBytes,
      onError: (error) => this.log.debug({ err: error, service: this.service }, 'write to service failed'),
    });
    this.state = 'up';
    this.retryDelay = RETRY_MIN_MS;
    this.queue.push({ type: 'hello', worker: this.workerId }, MESSAGE_OVERHEAD, true);
    this.hooks.onFreshInstance(this);
    for (const client of this.known.values()) this.queue.push({ type: 'connect', client, resumed: true }, MESSAGE_OVERHEAD, true);
    let redelivered = 0;
    for (const entry of this.unacked.values()) {
      if (entry.sentTo === 0) continue;
      if (!entry.unhandled) redelivered++;
      this.send(entry);
    }
    const held = this.held;
    this.held = [];
    for (const item of held) {
      if ('event' in item) {
        this.sendEvent(item.event);
        continue;
      }
      const entry = this.unacked.get(item.seq);
      if (entry !== undefined && entry.sentTo === 0) this.send(entry);
    }
    if (this.known.size > 0 || redelivered > 0 || held.length > 0) {
      this.log.info({ service: this.service, clients: this.known.size, redelivered, held: held.length }, 'service link up; clients resumed');
    }
  }

  private onClosed(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.queue?.close();
    this.queue = undefined;
    if (this.state === 'failed') return;
    this.state = 'down';
    const next = this.nextEndpoint;
    if (next !== undefined) return this.open(next);
    // Still the announced instance (a broken link, or one that is retiring): try again, more slowly each time.
    const endpoint = this.endpoint;
    if (endpoint === undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'down' && this.socket === undefined && this.endpoint === endpoint) this.open(endpoint);
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  private cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** The instance stops without handling anything more: what it has not acknowledged goes to the next one, unmarked. */
  private retired(): void {
    if (this.state !== 'up') return;
    this.state = 'down';
    for (const entry of this.unacked.values()) if (entry.sentTo !== 0) entry.unhandled = true;
    this.queue?.close();
  }

  private send(entry: Unacked): void {
    const message = entry.sentTo === 0 || entry.unhandled ? entry.message : { ...entry.message, redelivered: true as const };
    entry.sentTo = this.generation;
    entry.unhandled = false;
    // The bound is enforced on `unacked`, which covers this queue.
    this.queue?.push(message, entry.size, true);
  }

  private sendEvent(event: ClientEvent): void {
    if (event.type === 'connect') this.known.set(event.client.id, event.client);
    else this.known.delete(event.id);
    // Bounded by the number of connections, like the events themselves.
    this.queue?.push(event, MESSAGE_OVERHEAD, true);
  }

  private acknowledge(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const entry = this.unacked.get(seq);
      if (entry === undefined) continue;
      this.unacked.delete(seq);
      this.unackedBytes -= entry.size;
    }
  }
}

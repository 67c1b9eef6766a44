/**
 * Delivery: one service message from its link to the sockets. A batch from a
 * link comes in at `fromLink`; each message is carried out for the service
 * that sent it, which may address only its own clients (`ownClient`); a send
 * goes to one socket (`deliver`), a broadcast or publish to many with its
 * payload framed once (`fanOut`). The way in, socket to link, is
 * client-intake.ts.
 */
import { WebSocket } from 'ws';
import { workerOfClientId, type ClientIdAllocator } from '../client-id';
import { CLOSE_CODES, isSendableCloseCode, isSendableCloseReason } from '../errors';
import type { Logger } from '../logger';
import { payloadBytes, type Payload, type ServiceToWorker } from '../protocol';
import { ThrottledWarning } from '../throttled-log';
import type { ClientEntry, ClientRegistry } from './client-registry';
import type { HeldCloses } from './held-closes';
import type { ConnectionLimits } from './limits';
import type { RoutingTally } from './routing-tally';
import type { ServiceLink } from './service-link';
import { DIRECT_FRAME_MAX, frameMessage, frameOnce, writeSharedFrame } from './shared-frame';
import type { SocketCorker } from './socket-corker';
import type { WorkerMetrics } from './worker-metrics';

/** A service's answer to an HTTP request of this worker. */
export type ServiceResponse = Extract<ServiceToWorker, { type: 'response' }>;

/** What delivery works with; the worker server owns all of it. */
export interface DeliveryDeps {
  readonly workerId: number;
  /** The ids this worker handed out: an id it never issued was never any service's client here. */
  readonly ids: Pick<ClientIdAllocator, 'issued'>;
  readonly clients: ClientRegistry;
  readonly limits: Pick<ConnectionLimits, 'afterSend'>;
  /** Closes held until their clients' replies are written: a batch may have carried the last of them. */
  readonly closes: Pick<HeldCloses, 'settle'>;
  readonly corker: Pick<SocketCorker, 'batch' | 'touch'>;
  readonly routing: RoutingTally;
  readonly metrics: Pick<WorkerMetrics, 'linkMessage'>;
  readonly log: Logger;
  /** Settles a service's answer to an HTTP request; false when no request of this worker waits for it. */
  settleResponse(service: string, message: ServiceResponse): boolean;
  /** Something the worker's status report counts has changed. */
  /** The status report is due; `flow`: only the message flow moved (held counts), which may wait longer. */
  statusChanged(flow?: boolean): void;
  /** A topic of a service gained its first subscriber here (`on`) or lost its last: its instances hear it when it has several. */
  interestChanged(service: string, topic: string, on: boolean): void;
}

/** The way out for one worker: what services send, carried to their own clients' sockets. */
export class ClientDelivery {
  /** A buggy or hostile service can trigger it once per message. */
  private readonly foreignWarning: ThrottledWarning;

  constructor(private readonly deps: DeliveryDeps) {
    this.foreignWarning = new ThrottledWarning(deps.log, 'service addressed a client that is not its own; dropped');
  }

  /**
   * One batch from a link (acks already taken by it): every socket written to
   * leaves in one write after the batch. A reply travels ahead of its event's
   * ack, so once the batch is written, a client's held Close may follow it.
   * A batch of one message writes each socket once at most (`ws` corks its
   * own two-part frames): corking it would only delay each write to the end
   * of the loop and cost a cork pair per socket (a publish to 1,000 sockets
   * with one message in flight is such a batch).
   */
  fromLink(link: ServiceLink, batch: readonly ServiceToWorker[]): void {
    if (batch.length === 1) {
      this.fromService(link, batch[0] as ServiceToWorker);
    } else if (batch.length > 1) {
      this.deps.corker.batch(() => {
        for (const message of batch) this.fromService(link, message);
      });
    }
    this.deps.closes.settle(link);
    this.deps.statusChanged(true);
  }

  /**
   * Carries out one message a service instance sent over its link. A send, a
   * close and a (un)subscribe address one client, which must be the
   * instance's own; a broadcast reaches every client of the service here and
   * a publish every local subscriber of the topic, whichever instance owns
   * them.
   */
  fromService(link: ServiceLink, message: ServiceToWorker): void {
    const { service } = link;
    this.deps.metrics.linkMessage(message.type);
    switch (message.type) {
      case 'send': {
        const entry = this.ownClient(link, message.id);
        // Text that came as bytes goes out as they are: `ws` frames a Buffer as text with `binary: false`, no decoding.
        if (entry !== undefined) this.deliver(entry, message.data, message.binary === true);
        return;
      }
      case 'broadcast':
        this.fanOut(this.deps.clients.ofService(service).values(), message, message.except);
        return;
      case 'publish':
        this.fanOut(this.deps.clients.subscribers(service, message.topic), message, message.except);
        return;
      case 'subscribe':
        if (this.ownClient(link, message.id) !== undefined && this.deps.clients.subscribe(service, message.topic, message.id)) this.deps.interestChanged(service, message.topic, true);
        return;
      case 'unsubscribe':
        if (this.ownClient(link, message.id) !== undefined && this.deps.clients.unsubscribe(service, message.topic, message.id)) this.deps.interestChanged(service, message.topic, false);
        return;
      case 'closeClient': {
        const entry = this.ownClient(link, message.id);
        if (entry === undefined) return;
        const code = isSendableCloseCode(message.code) ? message.code : CLOSE_CODES.NORMAL;
        entry.socket.close(code, isSendableCloseReason(message.reason) ? message.reason : '');
        return;
      }
      case 'response':
        if (!this.deps.settleResponse(service, message) && workerOfClientId(message.rid) !== this.deps.workerId) this.deps.routing.add('foreignAddressDrops');
        return;
      case 'ack':
      case 'retired':
      case 'sessionLost':
        // Taken by the link itself.
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * The client `id` if it is this service's and still here. A service may
   * address only its own clients: anything else is dropped and counted. An id
   * this worker issued whose client is gone is a benign race (the service
   * had not yet heard of the close); one it never issued, like another
   * worker's or another service's client, was never this service's: foreign.
   * (A gone client of another service still counts as gone: which service an
   * id belonged to is not kept after its close.) With several instances, a
   * client owned by another instance of the same service is foreign too.
   */
  private ownClient(link: ServiceLink, id: string): ClientEntry | undefined {
    const { service } = link;
    const own = this.deps.clients.getOf(service, id);
    if (own !== undefined && own.link === link) return own;
    // Not this instance's: look further only to tell a foreign id from a gone one (off the hot path).
    const entry = own ?? this.deps.clients.get(id);
    if (entry === undefined && this.deps.ids.issued(id)) {
      this.deps.routing.add('goneClientDrops');
      this.deps.log.debug({ service, client: id }, 'client already gone; dropped');
    } else {
      this.deps.routing.add('foreignAddressDrops');
      this.foreignWarning.warn({ service, client: id });
    }
    return undefined;
  }

  /**
   * Sends one payload to many sockets: decoded and framed once, the same
   * frame written to every socket that takes shared frames (see
   * shared-frame.ts); `ws` frames it for the others.
   */
  private fanOut(entries: Iterable<ClientEntry>, payload: Payload, except: readonly string[] | undefined): void {
    const binary = payload.binary === true;
    const data = payloadBytes(payload);
    const frame = frameOnce(data, binary);
    const skip = except === undefined || except.length === 0 ? undefined : new Set(except);
    for (const entry of entries) {
      if (skip === undefined || !skip.has(entry.id)) this.deliver(entry, data, binary, frame);
    }
  }

  /**
   * Sends `data` to one client. A socket that takes shared frames gets
   * `frame` (the same bytes framed once for many) when given, else a small
   * message framed here (`frameMessage`: one Buffer, one write); otherwise
   * `ws` frames it.
   */
  private deliver(entry: ClientEntry, data: string | Buffer, binary: boolean, frame?: Buffer): void {
    const { socket } = entry;
    if (socket.readyState !== WebSocket.OPEN) return;
    this.deps.corker.touch(socket);
    // The backlog before this message decides whether the client is slow: one large message alone does not make it so.
    const backlogBefore = socket.bufferedAmount;
    // UTF-8 bytes, as a fan-out (which sends a Buffer) and bytes received count: `length` of a string counts UTF-16 units.
    // byteLength measures without encoding; the string is encoded once, into its frame.
    const bytes = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
    if (!entry.sharedFrames) socket.send(data, { binary });
    else if (frame !== undefined) writeSharedFrame(socket, frame);
    else if (bytes < DIRECT_FRAME_MAX) writeSharedFrame(socket, frameMessage(data, bytes, binary));
    else socket.send(data, { binary });
    this.deps.limits.afterSend(socket, backlogBefore);
    entry.counters.messagesOut++;
    entry.counters.bytesOut += bytes;
  }
}

/**
 * The service end of a worker's link from another node, over a reliable NATS
 * channel (`link-server.ts` takes it beside socket links): its hello, its
 * stream of writes continued across the channel's resets, and a hello that
 * waits for its node's heartbeat.
 */
import { MAX_LINE_LENGTH } from '../ipc/socket-endpoint';
import { ChannelEndpoint, ChannelLineReader, type RetainLimits } from '../nats/channel-endpoint';
import type { AcceptedOwner } from '../nats/channel-router';
import type { ReliableChannel, ResetReason } from '../nats/reliable-channel';
import type { Logger } from '../logger';
import type { LinkResume } from '../protocol';

/**
 * Whether a worker on another node may link over a channel: the cluster's
 * trust boundary is the NATS credentials (the router already refused what
 * does not come from a configured node); this checks that the worker named
 * in the hello is one of the sending node's (its link id carries its node,
 * `client-id.ts`), so that one node cannot pass for another's workers.
 */
export type RemoteAdmission = (node: string, endpoint: string, worker: number) => boolean;

/** Most lines a channel link keeps after a hello that waits for its node's heartbeat; past it the link is refused. */
const MAX_PARKED_VALUES = 256;

/** What a channel link asks of the link server (`LinkServer`). */
export interface ChannelLinkServer {
  /** A session's hello: the worker admitted, `'parked'` (it waits for its node's heartbeat), or undefined (refused). */
  channelHello(link: ChannelLink, value: unknown): number | 'parked' | undefined;
  linkBatch(worker: number, value: unknown): void;
  unreadable(error: Error, worker: number | undefined): void;
  /** A parked hello's wait ended: with `fields`, refused (and warned of). */
  endParked(link: ChannelLink, fields?: Record<string, unknown>): void;
  readonly helloTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * A worker's link from another node, over a reliable channel: the owner of
 * the channel the router opened for it. A reset of the channel is not the
 * worker's death: the link stays, and so do its queue and its stream of
 * writes (`ChannelEndpoint` with `retain`), suspended: what the session had
 * not delivered is kept, within the link's queue bounds, and so is what the
 * service sends meanwhile. The worker's next hello, which it sends at once,
 * says how many writes it read whole; the rest go again, first, and the
 * stream goes on (exactly once, in order). When that cannot be (the bound
 * was passed, the link is new here), the hello gets a new stream that starts
 * with `sessionLost`, and the worker closes its clients of this instance with
 * 1012: never a silent loss. Its clients stay in the service either way.
 */
export class ChannelLink implements AcceptedOwner {
  private worker: number | undefined;
  /** The session's first line is its hello. */
  private awaitingHello = true;
  private channel: ReliableChannel | undefined;
  private closeChannel: (() => void) | undefined;
  private helloDeadline: NodeJS.Timeout | undefined;
  private endpointValue: ChannelEndpoint | undefined;
  /** A hello waiting for its node's heartbeat to list its worker, with the lines read after it. */
  private parkedHello: { readonly worker: number; readonly values: unknown[]; readonly deadline: NodeJS.Timeout } | undefined;
  /** The worker connection's stream the endpoint carries (its hello's `resume.stream`). */
  private stream: number | undefined;
  private readonly reader: ChannelLineReader;
  private destroyed = false;

  constructor(
    private readonly server: ChannelLinkServer,
    readonly node: string,
    readonly endpoint: string,
    readonly admits: RemoteAdmission,
  ) {
    this.reader = new ChannelLineReader(MAX_LINE_LENGTH, {
      onValue: (value) => this.onValue(value),
      onMalformed: (error) => {
        this.server.unreadable(error, this.worker);
        if (!this.awaitingHello) return;
        if (this.worker === undefined) this.destroy();
        else this.channel?.reset();
      },
      onOverflow: (length) => this.server.logger.error({ worker: this.worker, node, length }, 'worker sent an oversized line; channel reset'),
      onBadRaw: (reason) => this.server.logger.error({ worker: this.worker, node, reason }, 'worker sent a bad raw segment length; channel reset'),
    });
  }

  /** Whether a hello was accepted on this link once (it then belongs to that worker until the worker is gone). */
  get admitted(): boolean {
    return this.worker !== undefined;
  }

  /** @internal Called by the router right after it opened the channel with this owner. */
  bind(channel: ReliableChannel, close: () => void): void {
    this.channel = channel;
    this.closeChannel = close;
    // As on a socket: a channel that never presents a valid hello is cut, so made-up peers cannot hold one for good.
    this.helloDeadline = setTimeout(() => {
      // A hello that waits for its node's heartbeat has a deadline of its own.
      if (this.worker === undefined && this.parkedHello === undefined) this.destroy();
    }, this.server.helloTimeoutMs);
  }

  /** A new stream of writes (named by the hello's `resume`), numbered on from the writes the worker says it read. */
  newEndpoint(limits: RetainLimits, resume: LinkResume | undefined): ChannelEndpoint {
    this.endpointValue?.close();
    this.stream = resume?.stream;
    this.endpointValue = new ChannelEndpoint(this.channel as ReliableChannel, limits, resume?.received ?? 0);
    return this.endpointValue;
  }

  /** Takes over the stream of this worker's dropped link (`dropRemoteWorker`), going on from `received`; false when it cannot. */
  adoptStream(stream: number, endpoint: ChannelEndpoint, received: number): boolean {
    endpoint.rebind(this.channel as ReliableChannel);
    if (!endpoint.continueFrom(received)) return false;
    this.endpointValue?.close();
    this.endpointValue = endpoint;
    this.stream = stream;
    return true;
  }

  /**
   * The worker was dropped (its node held dead): the session resets (the
   * worker, when it hears of it, says hello again, and that hello waits for
   * its node's heartbeat) and the stream is kept for it. False when there is
   * no stream, or too much to keep.
   */
  suspendForReturn(): boolean {
    if (this.endpointValue === undefined || this.stream === undefined || this.channel === undefined) return false;
    this.channel.reset();
    return this.endpointValue.continuable;
  }

  /** The link goes, its stream stays (suspended) for the worker to continue later; undefined when it has none, or too much to keep. */
  detachStream(): { readonly stream: number; readonly endpoint: ChannelEndpoint } | undefined {
    const endpoint = this.endpointValue;
    const stream = this.stream;
    this.endpointValue = undefined;
    if (endpoint === undefined || stream === undefined) return undefined;
    if (endpoint.suspend()) return { stream, endpoint };
    endpoint.close();
    return undefined;
  }

  /** Whether the stream goes on from where the worker's `resume` says its reading stopped (the rest is then resent first). */
  continueStream(resume: LinkResume | undefined): boolean {
    if (resume?.received === undefined || resume.stream !== this.stream || this.endpointValue === undefined) return false;
    return this.endpointValue.continueFrom(resume.received);
  }

  onFrame(payload: Uint8Array): void {
    if (this.destroyed) return;
    if (!this.reader.push(payload)) this.channel?.reset();
  }

  onReset(_reason: ResetReason): void {
    // A waiting hello's session is over: the worker's next hello (which it sends at once) replaces it.
    this.endParked();
    this.reader.clear();
    // Kept for the worker's next hello (past the bounds it cannot go on, and that hello hears so).
    this.endpointValue?.suspend();
    this.awaitingHello = true;
  }

  onDrain(): void {
    this.endpointValue?.drain();
  }

  destroy(): void {
    this.destroyed = true;
    this.endParked();
    clearTimeout(this.helloDeadline);
    this.endpointValue?.close();
    // Out of the router: a later hello from that endpoint is a new link.
    this.closeChannel?.();
  }

  /** The worker a parked hello names (it waits for its node's heartbeat to list it). */
  get parkedWorker(): number | undefined {
    return this.parkedHello?.worker;
  }

  /** The worker is listed now: the hello and what followed it go on. */
  unpark(): void {
    const parked = this.parkedHello;
    if (parked === undefined) return;
    this.parkedHello = undefined;
    clearTimeout(parked.deadline);
    for (const value of parked.values) this.onValue(value);
  }

  private endParked(fields?: Record<string, unknown>): void {
    const parked = this.parkedHello;
    if (parked === undefined) return;
    this.parkedHello = undefined;
    clearTimeout(parked.deadline);
    this.server.endParked(this, fields);
    // Refused, on a link admitted before: as for a hello that starts a session wrong, the session resets (the worker says hello again).
    if (fields !== undefined && this.worker !== undefined && !this.destroyed) this.channel?.reset();
  }

  private park(value: unknown): void {
    const hello = (value as readonly unknown[])[0] as { readonly worker: number };
    const deadline = setTimeout(() => this.endParked({ worker: hello.worker, node: this.node, reason: 'not a live worker of a node that is up' }), this.server.helloTimeoutMs);
    this.parkedHello = { worker: hello.worker, values: [value], deadline };
  }

  private onValue(value: unknown): void {
    if (this.destroyed) return;
    const parked = this.parkedHello;
    if (parked !== undefined) {
      // Lines after a waiting hello wait with it; a worker does not send many before its hello is answered by anything.
      if (parked.values.length < MAX_PARKED_VALUES) parked.values.push(value);
      else this.endParked({ worker: parked.worker, node: this.node, reason: 'too much sent before its node listed the worker' });
      return;
    }
    if (this.awaitingHello) {
      const worker = this.server.channelHello(this, value);
      if (worker === 'parked') return this.park(value);
      if (worker === undefined) {
        // An admitted link whose new session starts wrong stays admitted: the session resets, and its worker's next hello resumes it.
        if (this.worker !== undefined) this.channel?.reset();
        return;
      }
      if (this.worker !== undefined && this.worker !== worker) return this.destroy();
      clearTimeout(this.helloDeadline);
      this.worker = worker;
      this.awaitingHello = false;
    }
    this.server.linkBatch(this.worker as number, value);
  }
}

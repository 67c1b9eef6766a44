/**
 * The two transports of a worker's link (`service-link.ts`): a Unix socket
 * to an instance on this node (unchanged: same code, same cost), or a
 * reliable NATS channel to an instance on another node. The link sees one
 * shape: a `BatchQueue` endpoint to write its lines to, lines read back
 * into its `onValue`, `destroy()` and `end()`.
 *
 * A remote instance is announced as `nats:<node>/<endpoint>/<epoch>`
 * (`process-router.ts`): a restart is a new epoch, so a new announcement, so
 * a new channel: a fresh instance for the link, exactly as a restarted local
 * instance is.
 */
import { randomInt } from 'node:crypto';
import type { IpcEndpoint } from '../ipc/batch-queue';
import { MAX_LINE_LENGTH, type LineReaderHooks } from '../ipc/socket-endpoint';
import { ChannelEndpoint, ChannelLineReader } from '../nats/channel-endpoint';
import type { ChannelRouter } from '../nats/channel-router';
import type { RemoteEndpoint } from '../nats/process-router';
import type { ChannelOwner, ReliableChannel, ResetReason } from '../nats/reliable-channel';
import type { LinkResume } from '../protocol';

/** What a channel connection reports to its link. */
export interface ChannelConnectionHooks extends LineReaderHooks {
  /** The channel's session ended: what was in flight either way may be lost; re-hello and replay. */
  onReset(connection: ChannelConnection, reason: ResetReason): void;
}

/**
 * A link's connection over a NATS channel; the channel's owner. It counts the
 * instance's writes it read whole, over all the channel's sessions: after a
 * reset, the hello says so (`resume`), and the instance resends the rest
 * (or answers `sessionLost`). Frames end at write boundaries (a frame never
 * carries the ends of two writes), so a write is whole when the reader is
 * idle after a frame; the reader drops a partial write at a reset.
 */
export class ChannelConnection implements ChannelOwner {
  /** Names this connection's stream to the instance. */
  private readonly stream: number;
  private received: number;
  /** Whether a session of this stream ended: its next hello continues it. */
  private continuing: boolean;
  private channel: ReliableChannel | undefined;
  private endpointValue: ChannelEndpoint | undefined;
  private readonly reader: ChannelLineReader;
  private router: ChannelRouter | undefined;
  private destroyed = false;

  constructor(
    readonly remote: RemoteEndpoint,
    private readonly hooks: ChannelConnectionHooks,
    /** The stream of an earlier connection to the same instance (the same process), to go on with. */
    carried?: LinkResume,
  ) {
    this.reader = new ChannelLineReader(MAX_LINE_LENGTH, hooks);
    this.stream = carried?.stream ?? randomInt(1, 2 ** 47);
    this.received = carried?.received ?? 0;
    this.continuing = carried?.received !== undefined;
  }

  /** Opens the channel on `router`; false when this connection was destroyed meanwhile. */
  attach(router: ChannelRouter): boolean {
    if (this.destroyed) return false;
    this.router = router;
    // A channel to this peer endpoint left by an earlier connection (the instance's previous process) goes first.
    router.closeChannel(this.remote.node, this.remote.endpoint);
    this.channel = router.open(this.remote.node, this.remote.endpoint, this);
    return true;
  }

  /** A fresh endpoint for a new queue (one per session). */
  newEndpoint(): IpcEndpoint {
    this.endpointValue?.close();
    this.endpointValue = new ChannelEndpoint(this.channel as ReliableChannel);
    return this.endpointValue;
  }

  /** What the next hello says of the stream: its name and, after a reset, the writes read whole. */
  get resume(): LinkResume {
    return this.continuing ? { stream: this.stream, received: this.received } : { stream: this.stream };
  }

  /** The stream to go on with on a later connection to the same instance: its name and the writes read whole. */
  get carry(): LinkResume {
    return { stream: this.stream, received: this.received };
  }

  /** Counters of the channel, for the worker's metrics. */
  get stats(): ReliableChannel['stats'] | undefined {
    return this.channel?.stats;
  }

  onFrame(payload: Uint8Array): void {
    if (this.destroyed) return;
    // An overflowing line means a broken peer: its session is reset (the link replays on the new one).
    if (!this.reader.push(payload)) this.channel?.reset();
    else if (this.reader.idle) this.received++;
  }

  onReset(reason: ResetReason): void {
    this.reader.clear();
    this.continuing = true;
    this.endpointValue?.close();
    if (!this.destroyed) this.hooks.onReset(this, reason);
  }

  onDrain(): void {
    this.endpointValue?.drain();
  }

  /** Ends the channel now (its frames in flight are abandoned). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.endpointValue?.close();
    this.router?.closeChannel(this.remote.node, this.remote.endpoint);
  }
}

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
import type { IpcEndpoint } from '../ipc/batch-queue';
import { MAX_LINE_LENGTH, type LineReaderHooks } from '../ipc/socket-endpoint';
import { ChannelEndpoint, ChannelLineReader } from '../nats/channel-endpoint';
import type { ChannelRouter } from '../nats/channel-router';
import type { RemoteEndpoint } from '../nats/process-router';
import type { ChannelOwner, ReliableChannel, ResetReason } from '../nats/reliable-channel';

/** What a channel connection reports to its link. */
export interface ChannelConnectionHooks extends LineReaderHooks {
  /** The channel's session ended: what was in flight either way may be lost; re-hello and replay. */
  onReset(connection: ChannelConnection, reason: ResetReason): void;
}

/** A link's connection over a NATS channel; the channel's owner. */
export class ChannelConnection implements ChannelOwner {
  private channel: ReliableChannel | undefined;
  private endpointValue: ChannelEndpoint | undefined;
  private readonly reader: ChannelLineReader;
  private router: ChannelRouter | undefined;
  private destroyed = false;

  constructor(
    readonly remote: RemoteEndpoint,
    private readonly hooks: ChannelConnectionHooks,
  ) {
    this.reader = new ChannelLineReader(MAX_LINE_LENGTH, hooks);
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

  /** Counters of the channel, for the worker's metrics. */
  get stats(): ReliableChannel['stats'] | undefined {
    return this.channel?.stats;
  }

  onFrame(payload: Uint8Array): void {
    if (this.destroyed) return;
    // An overflowing line means a broken peer: its session is reset (the link replays on the new one).
    if (!this.reader.push(payload)) this.channel?.reset();
  }

  onReset(reason: ResetReason): void {
    this.reader.clear();
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

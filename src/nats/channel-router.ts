/**
 * A process's reliable channels over one NATS connection: one subscription,
 * `<cluster>.link.<this node>.>` (or, with an `endpoint`, the process's own
 * `<cluster>.link.<this node>.<endpoint>.>`), whose messages are routed by
 * subject to the channel they belong to, and one publish subject per channel,
 * `<cluster>.link.<peer node>.<this node>.<channel>` (with an endpoint:
 * `<cluster>.link.<peer node>.<peer endpoint>.<this node>.<endpoint>`, the
 * channel being named by the peer's endpoint). With endpoints, each worker
 * and each service instance of a node subscribes only to its own frames. The subject names the
 * sending node, which must be one of the cluster's configured nodes: anything
 * else (another node name, a subject of the wrong shape, a channel not open
 * here) is refused and counted, and malformed frames are counted, never
 * trusted; each kind is logged as a throttled warning.
 */
import type { Logger } from '../logger';
import { SwitchyardError } from '../errors';
import { ThrottledWarning } from '../throttled-log';
import { decodeFrame } from './frame';
import { ReliableChannel, type ChannelOwner, type ChannelStats, type FrameSink, type ReliableChannelOptions } from './reliable-channel';

function emptyStats(): ChannelStats {
  return { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, resends: 0, nacks: 0, timeouts: 0, duplicates: 0, outOfOrder: 0, stale: 0, malformed: 0, resets: 0 };
}

function addStats(into: ChannelStats, from: ChannelStats): void {
  for (const key of Object.keys(into) as Array<keyof ChannelStats>) into[key] += from[key];
}

/** Node, cluster and channel names are single NATS subject tokens: letters, digits, `_` and `-`. */
export const SUBJECT_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** What the router needs of a NATS connection (`NatsLink`, or a fake in unit tests). */
export interface NatsPort {
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: (subject: string, data: Uint8Array) => void): () => void;
  maxPayload(): number;
  /** False while reconnecting; absent: always connected. */
  connected?(): boolean;
}

export interface ChannelRouterConfig {
  /** Prefix of every subject; two clusters can share one NATS. */
  readonly cluster: string;
  /** This node's name. */
  readonly node: string;
  /** Every node of the cluster (this one may be listed too). */
  readonly nodes: readonly string[];
  /** This process within its node (`w3`, `chat-0`): channels are then named by the peer's endpoint. */
  readonly endpoint?: string;
  readonly channel?: ReliableChannelOptions;
  /**
   * A message for a channel not open here, from a configured node: the owner
   * of a new channel to that peer endpoint, or undefined to leave it unrouted
   * (a service instance accepts the links of workers it has never heard of).
   */
  readonly accept?: (peer: string, name: string) => AcceptedOwner | undefined;
  /** Most channels `accept` may have open at once (a flood of made-up endpoints must not grow the map). Default `MAX_ACCEPTED_CHANNELS`. */
  readonly maxAccepted?: number;
}

/** Channels a router opens on its own at most: a service instance's links from other nodes' workers. */
export const MAX_ACCEPTED_CHANNELS = 1024;

/** The owner of a channel the router opened on its own (`accept`): it is handed the channel, and how to close it. */
export interface AcceptedOwner extends ChannelOwner {
  bind(channel: ReliableChannel, close: () => void): void;
}

/** Counters of what the router refused (the channels count their own frames). */
export interface RouterStats {
  /** Messages from a node that is not configured, or on a subject of the wrong shape. */
  refused: number;
  /** Messages for a channel not open on this node. */
  unrouted: number;
  /** Messages whose bytes are not a frame. */
  malformed: number;
}

/** A process's endpoint within its node: one subject token, a little longer than a name (a service name plus `-<instance>`). */
export const ENDPOINT_PATTERN = /^[A-Za-z0-9_-]{1,72}$/;

function checkEndpoint(what: string, value: string): void {
  if (!ENDPOINT_PATTERN.test(value)) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `${what} must be 1 to 72 letters, digits, "_" or "-" (one NATS subject token), got ${JSON.stringify(value)}`);
  }
}

export function checkSubjectToken(what: string, value: string): void {
  if (!SUBJECT_TOKEN_PATTERN.test(value)) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `${what} must be 1 to 64 letters, digits, "_" or "-" (one NATS subject token), got ${JSON.stringify(value)}`);
  }
}

/** Where one channel publishes: the peer's subject for it. */
class ChannelSink implements FrameSink {
  constructor(
    private readonly port: NatsPort,
    private readonly subject: string,
  ) {}

  publish(frame: Uint8Array): void {
    this.port.publish(this.subject, frame);
  }

  maxPayload(): number {
    return this.port.maxPayload();
  }

  connected(): boolean {
    return this.port.connected?.() ?? true;
  }
}

export class ChannelRouter {
  readonly stats: RouterStats = { refused: 0, unrouted: 0, malformed: 0 };
  private readonly closedStats: ChannelStats = emptyStats();
  /** Channels open through `accept`. */
  private accepted = 0;
  private readonly channels = new Map<string, ReliableChannel>();
  private readonly peers: ReadonlySet<string>;
  private readonly prefix: string;
  private readonly unsubscribe: () => void;
  private readonly refusedWarning: ThrottledWarning;
  private readonly unroutedWarning: ThrottledWarning;
  private readonly malformedWarning: ThrottledWarning;

  constructor(
    private readonly port: NatsPort,
    private readonly config: ChannelRouterConfig,
    log: Logger,
  ) {
    checkSubjectToken('the cluster name', config.cluster);
    checkSubjectToken('the node name', config.node);
    for (const node of config.nodes) checkSubjectToken('a node name', node);
    this.peers = new Set(config.nodes.filter((node) => node !== config.node));
    if (config.endpoint !== undefined) checkEndpoint('the endpoint', config.endpoint);
    this.prefix = `${config.cluster}.link.${config.node}.${config.endpoint === undefined ? '' : `${config.endpoint}.`}`;
    this.refusedWarning = new ThrottledWarning(log, 'NATS link message refused: not from a configured node of this cluster');
    this.unroutedWarning = new ThrottledWarning(log, 'NATS link message for a channel not open on this node dropped');
    this.malformedWarning = new ThrottledWarning(log, 'malformed NATS link frame dropped');
    this.unsubscribe = port.subscribe(`${this.prefix}>`, (subject, data) => this.route(subject, data));
  }

  /** Opens the channel `name` to `peer` (one of the configured nodes); one per peer and name. */
  open(peer: string, name: string, owner: ChannelOwner): ReliableChannel {
    if (this.config.endpoint === undefined) checkSubjectToken('the channel name', name);
    else checkEndpoint('the peer endpoint', name);
    if (!this.peers.has(peer)) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `${JSON.stringify(peer)} is not another configured node`);
    const key = `${peer}.${name}`;
    if (this.channels.has(key)) throw new SwitchyardError('SY_ERR_INVALID_STATE', `channel ${name} to node ${peer} is already open`);
    const { cluster, node, endpoint } = this.config;
    const subject = endpoint === undefined ? `${cluster}.link.${peer}.${node}.${name}` : `${cluster}.link.${peer}.${name}.${node}.${endpoint}`;
    const sink = new ChannelSink(this.port, subject);
    const channel = new ReliableChannel(sink, owner, this.config.channel);
    this.channels.set(key, channel);
    return channel;
  }

  /** Closes one channel (its timers stop; frames for it are counted as unrouted from now on). */
  closeChannel(peer: string, name: string): void {
    const key = `${peer}.${name}`;
    const channel = this.channels.get(key);
    if (channel === undefined) return;
    channel.close();
    addStats(this.closedStats, channel.stats);
    this.channels.delete(key);
  }

  /** The counters of every channel this router has had, closed ones included (so that a total never goes back). */
  totals(): ChannelStats {
    const sum = { ...this.closedStats };
    for (const channel of this.channels.values()) addStats(sum, channel.stats);
    return sum;
  }

  /** The open channels, keyed `<peer>.<name>`. */
  get openChannels(): ReadonlyMap<string, ReliableChannel> {
    return this.channels;
  }

  /**
   * The NATS connection is back (call it on the connection's `reconnect`):
   * every channel resends what it has unacknowledged, since frames in flight
   * may have died with the old server.
   */
  reconnected(): void {
    for (const channel of this.channels.values()) channel.resendNow();
  }

  /** Closes every channel and the subscription. */
  close(): void {
    this.unsubscribe();
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  /** One message on `<cluster>.link.<this node>.<from node>.<channel>`. */
  private route(subject: string, data: Uint8Array): void {
    const rest = subject.startsWith(this.prefix) ? subject.slice(this.prefix.length) : '';
    const dot = rest.indexOf('.');
    const from = dot > 0 ? rest.slice(0, dot) : '';
    const name = dot > 0 ? rest.slice(dot + 1) : '';
    if (!this.peers.has(from) || !(this.config.endpoint === undefined ? SUBJECT_TOKEN_PATTERN : ENDPOINT_PATTERN).test(name)) {
      this.stats.refused++;
      this.refusedWarning.warn({ subject });
      return;
    }
    let channel = this.channels.get(rest);
    if (channel === undefined && this.config.accept !== undefined) {
      // Only a real frame opens a channel, and only so many: garbage on made-up endpoints costs a counter, not memory.
      if (!decodeFrame(data).ok) {
        this.stats.malformed++;
        this.malformedWarning.warn({ subject, bytes: data.byteLength });
        return;
      }
      const owner = this.accepted < (this.config.maxAccepted ?? MAX_ACCEPTED_CHANNELS) ? this.config.accept(from, name) : undefined;
      if (owner !== undefined) {
        channel = this.open(from, name, owner);
        this.accepted++;
        const opened = channel;
        owner.bind(channel, () => {
          if (this.channels.get(rest) === opened) this.accepted--;
          this.closeChannel(from, name);
        });
      }
    }
    if (channel === undefined) {
      this.stats.unrouted++;
      this.unroutedWarning.warn({ subject });
      return;
    }
    const malformed = channel.receive(data);
    if (malformed !== undefined) {
      this.stats.malformed++;
      this.malformedWarning.warn({ subject, reason: malformed, bytes: data.byteLength });
    }
  }
}

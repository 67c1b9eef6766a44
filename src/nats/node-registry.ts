/**
 * Which nodes of the cluster are alive, from heartbeats over NATS. Each node
 * publishes one on `<cluster>.nodes.<node>` every `heartbeatInterval` (and
 * at once after a reconnect) and listens on `<cluster>.nodes.*`. A peer is
 * `up` from its first heartbeat and `down` once none came for `deadAfter`
 * (default 3 s: six heartbeats lost in a row, every 500 ms; a NATS reconnect
 * (under 2 s with connectNats' settings, measured: about 0.3-0.9 s after a
 * server's SIGKILL, 1.9 s away from a server that stopped answering) is not a
 * death, whenever in the heartbeat cycle it starts). A heartbeat with a new `boot` (the peer restarted) while it
 * was up makes it `down` then `up` again, so its owners reset what they had
 * with the old process.
 *
 * Heartbeats are checked at the border: from a node not configured, naming
 * another cluster, or whose payload names another node than its subject, they
 * are refused; ones that are not a heartbeat are malformed; both are counted
 * and logged (throttled), never trusted. A heartbeat on our own subject from
 * another process (two nodes started with one name) is a conflict: counted
 * and reported, since both would claim the same instances.
 *
 * Each heartbeat also carries the sender's `cluster.nodes`. A peer that does
 * not list this node refuses this node's heartbeats and links, so its own
 * heartbeats are refused here too (`unlisted`: no half-linked peer), and the
 * warning says which list lacks which name; a node that is not in this
 * node's list gets a warning naming it and `cluster.nodes`. Either side of
 * the mistake thus reads in its own log what to fix.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger';
import { SwitchyardError } from '../errors';
import { ThrottledWarning } from '../throttled-log';
import { SUBJECT_TOKEN_PATTERN, checkSubjectToken, type NatsPort } from './channel-router';
import { MAX_UINT48 } from './frame';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 500;
export const DEFAULT_DEAD_AFTER_MS = 3000;
export const HEARTBEAT_VERSION = 1;

export interface NodeRegistryConfig {
  /** Subject prefix shared by every node of the cluster. */
  readonly cluster: string;
  /** This node's name. */
  readonly node: string;
  /** Every node of the cluster (this one may be listed). */
  readonly nodes: readonly string[];
  /** Between two heartbeats, in ms. Default `500`. */
  readonly heartbeatInterval?: number;
  /** A peer without a heartbeat for this long, in ms, is down; at least twice `heartbeatInterval`. Default `3000`. */
  readonly deadAfter?: number;
}

/** One heartbeat, as published (JSON: low-rate control data). */
/**
 * What a node runs, carried by its heartbeats (the wiring's discovery): the
 * service instances that are up, each `[service, index, epoch]` (the epoch
 * changes with every new process of the instance), and its workers' link ids.
 */
export interface NodeState {
  readonly instances: ReadonlyArray<readonly [string, number, number]>;
  readonly workers: readonly number[];
}

/** Bounds of a heartbeat's state: a hostile or broken peer cannot make a node keep more. */
const MAX_STATE_INSTANCES = 4096;
const MAX_STATE_WORKERS = 1024;
/** Most names in a heartbeat's `nodes` (`MAX_NODES` of cluster-options.ts, which imports this module). */
const MAX_HEARTBEAT_NODES = 64;

function isNodeList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.length <= MAX_HEARTBEAT_NODES && value.every((node: unknown) => typeof node === 'string' && SUBJECT_TOKEN_PATTERN.test(node));
}

function isNodeState(value: unknown): value is NodeState {
  if (typeof value !== 'object' || value === null) return false;
  const { instances, workers } = value as Record<string, unknown>;
  return (
    Array.isArray(instances) &&
    instances.length <= MAX_STATE_INSTANCES &&
    instances.every(
      (entry: unknown) =>
        Array.isArray(entry) && entry.length === 3 && typeof entry[0] === 'string' && entry[0].length <= 64 && Number.isSafeInteger(entry[1]) && entry[1] >= 0 && Number.isSafeInteger(entry[2]),
    ) &&
    Array.isArray(workers) &&
    workers.length <= MAX_STATE_WORKERS &&
    workers.every((worker: unknown) => Number.isSafeInteger(worker) && (worker as number) >= 0)
  );
}

export interface Heartbeat {
  readonly v: typeof HEARTBEAT_VERSION;
  readonly cluster: string;
  readonly node: string;
  /** Random per process start: a new value means the node restarted. */
  readonly boot: number;
  /** Counts this process's heartbeats from 1. */
  readonly seq: number;
  /** What the node runs (absent: nothing said). */
  readonly state?: NodeState;
  /** The sender's `cluster.nodes`, sorted (absent: not said): a peer that does not list this node refuses it. */
  readonly nodes?: readonly string[];
}

export type PeerState = 'unknown' | 'up' | 'down';

/** What this node knows of a peer (for /healthz). */
export interface PeerInfo {
  readonly node: string;
  readonly state: PeerState;
  /** Wall-clock time of its last heartbeat (ms since the epoch), if any came. */
  readonly lastHeartbeat: number | undefined;
  readonly boot: number | undefined;
}

export type DownReason = 'timeout' | 'restarted';

export interface NodeRegistryEvents {
  up: [node: string];
  down: [node: string, reason: DownReason];
  /** Another process publishes heartbeats under this node's name. */
  conflict: [boot: number];
  /** A heartbeat of a peer that is up, with what it runs. */
  state: [node: string, state: NodeState];
  /** A configured peer whose `cluster.nodes` (`nodes`) does not list this node: it refuses this node, and its heartbeats are refused here. */
  unlisted: [node: string, nodes: readonly string[]];
}

export interface RegistryStats {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** From a node not configured, for another cluster, naming another node than its subject, or from a peer that does not list this node. */
  refused: number;
  /** Not a heartbeat at all. */
  malformed: number;
  /** Heartbeats under this node's own name from another process. */
  conflicts: number;
}

interface Peer {
  state: PeerState;
  boot: number | undefined;
  /** `performance.now()` (the global, monotonic) of the last heartbeat: the liveness clock, immune to wall-clock jumps. */
  seenAt: number;
  lastHeartbeat: number | undefined;
}

/** Checks what arrived on a heartbeat subject; a heartbeat or why not. */
export function parseHeartbeat(data: Uint8Array): Heartbeat | string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const beat = value as Record<string, unknown>;
  if (beat.v !== HEARTBEAT_VERSION) return `unknown heartbeat version ${JSON.stringify(beat.v)}`;
  if (typeof beat.cluster !== 'string' || typeof beat.node !== 'string') return 'cluster or node is not a string';
  if (!Number.isSafeInteger(beat.boot) || (beat.boot as number) <= 0) return 'boot is not a positive integer';
  if (!Number.isSafeInteger(beat.seq) || (beat.seq as number) <= 0) return 'seq is not a positive integer';
  if (beat.state !== undefined && !isNodeState(beat.state)) return 'state is not { instances, workers } within bounds';
  if (beat.nodes !== undefined && !isNodeList(beat.nodes)) return `nodes is not a list of at most ${MAX_HEARTBEAT_NODES} node names`;
  const parsed: Heartbeat = { v: HEARTBEAT_VERSION, cluster: beat.cluster, node: beat.node, boot: beat.boot as number, seq: beat.seq as number };
  return {
    ...parsed,
    ...(beat.state === undefined ? {} : { state: beat.state as NodeState }),
    ...(beat.nodes === undefined ? {} : { nodes: beat.nodes as readonly string[] }),
  };
}

export class NodeRegistry extends EventEmitter<NodeRegistryEvents> {
  readonly stats: RegistryStats = { heartbeatsSent: 0, heartbeatsReceived: 0, refused: 0, malformed: 0, conflicts: 0 };
  /** This process's boot id, sent in every heartbeat. */
  readonly boot = randomInt(1, MAX_UINT48 + 1);
  private readonly peers = new Map<string, Peer>();
  private readonly interval: number;
  private readonly deadAfter: number;
  private readonly subject: string;
  private readonly prefix: string;
  private seq = 0;
  private ownState: NodeState | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly refusedWarning: ThrottledWarning;
  private readonly unknownWarning: ThrottledWarning;
  private readonly unlistedWarning: ThrottledWarning;
  private readonly malformedWarning: ThrottledWarning;
  private readonly conflictWarning: ThrottledWarning;
  /** `config.nodes`, sorted and unique: sent in every heartbeat. */
  private readonly listed: readonly string[];

  constructor(
    private readonly port: NatsPort,
    private readonly config: NodeRegistryConfig,
    log: Logger,
  ) {
    super();
    checkSubjectToken('the cluster name', config.cluster);
    checkSubjectToken('the node name', config.node);
    for (const node of config.nodes) checkSubjectToken('a node name', node);
    this.interval = config.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.deadAfter = config.deadAfter ?? DEFAULT_DEAD_AFTER_MS;
    if (!Number.isInteger(this.interval) || this.interval < 10) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'heartbeatInterval must be an integer of at least 10 ms');
    // One lost heartbeat must not be a death.
    if (!Number.isInteger(this.deadAfter) || this.deadAfter < 2 * this.interval) {
      throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `deadAfter must be an integer of at least twice heartbeatInterval (${2 * this.interval} ms)`);
    }
    for (const node of config.nodes) {
      if (node !== config.node) this.peers.set(node, { state: 'unknown', boot: undefined, seenAt: 0, lastHeartbeat: undefined });
    }
    this.prefix = `${config.cluster}.nodes.`;
    this.subject = `${this.prefix}${config.node}`;
    this.listed = Object.freeze([...new Set(config.nodes)].sort());
    this.refusedWarning = new ThrottledWarning(log, 'NATS heartbeat refused: not from a configured node of this cluster');
    this.unknownWarning = new ThrottledWarning(log, 'NATS heartbeat refused: that node is not in cluster.nodes; list every node (one that holds no instance too) in cluster.nodes on every node');
    this.unlistedWarning = new ThrottledWarning(log, 'NATS heartbeat refused: that node does not list this node in its cluster.nodes, so it refuses this node\'s heartbeats and links; give every node the same cluster.nodes');
    this.malformedWarning = new ThrottledWarning(log, 'malformed NATS heartbeat dropped');
    this.conflictWarning = new ThrottledWarning(log, 'another process sends heartbeats under this node\'s name: two nodes were started with one name');
  }

  /**
   * Subscribes, sends the first heartbeat and starts the timers. `quiet`
   * listens without sending (to hear whether another process already runs
   * under this node's name before claiming it) until `beginHeartbeats()`.
   */
  start(quiet = false): void {
    if (this.unsubscribe !== undefined) throw new SwitchyardError('SY_ERR_INVALID_STATE', 'the node registry is already started');
    this.unsubscribe = this.port.subscribe(`${this.prefix}*`, (subject, data) => this.receive(subject, data));
    if (!quiet) this.beginHeartbeats();
    // Checked four times per deadAfter: a death is seen at most a quarter late.
    this.checkTimer = setInterval(onCheckTimer, Math.max(10, Math.floor(this.deadAfter / 4)), this);
  }

  /** Starts sending heartbeats (once; `start()` does it unless quiet). */
  beginHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) return;
    this.heartbeat();
    this.heartbeatTimer = setInterval(onHeartbeatTimer, this.interval, this);
  }

  /** Stops the timers and the subscription (peers then hear nothing and declare this node dead after `deadAfter`). */
  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.checkTimer);
    this.heartbeatTimer = undefined;
    this.checkTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Every configured peer with its state. */
  peerInfo(): PeerInfo[] {
    return [...this.peers].map(([node, peer]) => ({ node, state: peer.state, lastHeartbeat: peer.lastHeartbeat, boot: peer.boot }));
  }

  state(node: string): PeerState | undefined {
    return this.peers.get(node)?.state;
  }

  /** What this node runs, from its next heartbeat on; `announce` sends one now (a change should not wait an interval). */
  setState(state: NodeState, announce = true): void {
    this.ownState = state;
    if (announce && this.unsubscribe !== undefined) this.heartbeat();
  }

  /** Publishes a heartbeat now (the timer's tick, and after a reconnect so peers need not wait an interval). */
  heartbeat(): void {
    const base: Heartbeat = { v: HEARTBEAT_VERSION, cluster: this.config.cluster, node: this.config.node, boot: this.boot, seq: ++this.seq, nodes: this.listed };
    const beat: Heartbeat = this.ownState === undefined ? base : { ...base, state: this.ownState };
    this.stats.heartbeatsSent++;
    this.port.publish(this.subject, Buffer.from(JSON.stringify(beat)));
  }

  /** @internal the check timer's tick: peers silent for `deadAfter` are down. */
  check(): void {
    const now = performance.now();
    for (const [node, peer] of this.peers) {
      if (peer.state === 'up' && now - peer.seenAt > this.deadAfter) {
        peer.state = 'down';
        this.emit('down', node, 'timeout');
      }
    }
  }

  private receive(subject: string, data: Uint8Array): void {
    const node = subject.startsWith(this.prefix) ? subject.slice(this.prefix.length) : '';
    const beat = parseHeartbeat(data);
    if (typeof beat === 'string') {
      this.stats.malformed++;
      this.malformedWarning.warn({ subject, reason: beat });
      return;
    }
    if (beat.cluster !== this.config.cluster || beat.node !== node) {
      this.stats.refused++;
      this.refusedWarning.warn({ subject, cluster: beat.cluster, node: beat.node });
      return;
    }
    if (node === this.config.node) {
      if (beat.boot !== this.boot) {
        this.stats.conflicts++;
        this.conflictWarning.warn({ node, boot: beat.boot });
        this.emit('conflict', beat.boot);
      }
      return;
    }
    const peer = this.peers.get(node);
    if (peer === undefined) {
      this.stats.refused++;
      this.unknownWarning.warn({ node, clusterNodes: this.listed });
      return;
    }
    if (beat.nodes !== undefined && !beat.nodes.includes(this.config.node)) {
      // It refuses this node's heartbeats and links: counting it up would link this node's workers to instances that refuse them.
      this.stats.refused++;
      this.unlistedWarning.warn({ node, itsClusterNodes: beat.nodes, thisNode: this.config.node });
      this.emit('unlisted', node, beat.nodes);
      return;
    }
    this.stats.heartbeatsReceived++;
    peer.seenAt = performance.now();
    peer.lastHeartbeat = Date.now();
    const restarted = peer.boot !== undefined && peer.boot !== beat.boot;
    peer.boot = beat.boot;
    if (peer.state === 'up' && restarted) {
      peer.state = 'down';
      this.emit('down', node, 'restarted');
    }
    if (peer.state !== 'up') {
      peer.state = 'up';
      // Answer at once: the peer (just started, or back) need not wait an interval to see this node (unless this node is still quiet).
      if (this.heartbeatTimer !== undefined) this.heartbeat();
      this.emit('up', node);
    }
    if (beat.state !== undefined) this.emit('state', node, beat.state);
  }
}

function onHeartbeatTimer(registry: NodeRegistry): void {
  registry.heartbeat();
}

function onCheckTimer(registry: NodeRegistry): void {
  registry.check();
}

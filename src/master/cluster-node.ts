/**
 * The master's part in a cluster of nodes joined through NATS (`cluster`):
 * its own NATS connection, the node registry (heartbeats, liveness), and
 * discovery. Each heartbeat carries what this node runs (its instances that
 * are up, with an epoch per process, and its workers' link ids); a peer's
 * heartbeats become, for this node's workers, `serviceUp` announcements of
 * the peer's instances at `nats:<node>/<endpoint>/<epoch>` and `serviceDown`
 * when one is no longer seen, and, for this node's instances, the list of
 * the peer's live workers (`remoteWorkers`): a link from a worker that left
 * the list, or from a node declared dead, is gone, and its clients get 1006.
 *
 * Two processes started with one node name: the newcomer listens, without
 * sending a heartbeat, for one and a half heartbeat intervals before it
 * starts anything; when it hears the other's heartbeats it refuses to start
 * (`SY_ERR_NODE_CONFLICT`); one already running logs each conflict as an
 * error and carries on (it owns its instances; the newcomer never ran any).
 *
 * A node missing from a running node's `cluster.nodes` (the trap: a node
 * that holds no instance is in nobody's placement, so it must be listed by
 * hand) would be refused by that node, its heartbeats and its workers'
 * links alike, and its clients would wait for ever. The newcomer hears the
 * running nodes' lists in the same quiet wait and refuses to start
 * (`SY_ERR_NODE_UNLISTED`, naming the node and its list); later, the
 * registry refuses such a peer and logs why (throttled).
 */
import { SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import type { ResolvedCluster } from '../nats/cluster-options';
import { connectNats, type NatsLink } from '../nats/nats-connection';
import { NodeRegistry, type DownReason, type NodeState, type PeerInfo } from '../nats/node-registry';
import { formatRemoteEndpoint, instanceEndpoint } from '../nats/process-router';


export interface ClusterNodeHooks {
  /** An instance on another node is up at `endpoint` (new, or a new process of it). */
  instanceUp(service: string, instance: number, endpoint: string): void;
  /** An instance on another node is no longer seen. */
  instanceDown(service: string, instance: number): void;
  /** The workers `node` runs now (empty with `'node lost'`). */
  remoteWorkers(node: string, workers: readonly number[], reason: string): void;
}

interface PeerView {
  /** `<service>#<index>` → [service, index, endpoint]. */
  readonly instances: Map<string, readonly [string, number, string]>;
  workers: string;
}

export class ClusterNode {
  private link: NatsLink | undefined;
  private registry: NodeRegistry | undefined;
  private readonly peers = new Map<string, PeerView>();
  private conflicted = false;
  /** A running node, heard during the quiet start, whose `cluster.nodes` does not list this one. */
  private unlistedBy: { readonly node: string; readonly nodes: readonly string[] } | undefined;
  private started = false;

  constructor(
    private readonly cluster: ResolvedCluster,
    /** Which services this cluster knows, and how many instances each: a peer's claim of anything else is ignored. */
    private readonly instances: Readonly<Record<string, number>>,
    private readonly log: Logger,
    private readonly hooks: ClusterNodeHooks,
  ) {}

  /**
   * Connects, starts the heartbeats, and waits one and a half heartbeat
   * intervals for a process already running under this node's name; rejects
   * with `SY_ERR_NODE_CONFLICT` if one answers, `SY_ERR_NODE_UNLISTED`
   * when a running node's `cluster.nodes` does not list this node,
   * `SY_ERR_NATS_UNAVAILABLE` when no NATS server answers.
   */
  async start(state: NodeState): Promise<void> {
    this.link = await connectNats(this.cluster.nats);
    const registry = new NodeRegistry(this.link, { cluster: this.cluster.name, node: this.cluster.node, nodes: this.cluster.nodes, heartbeatInterval: this.cluster.heartbeatInterval, deadAfter: this.cluster.deadAfter }, this.log);
    this.registry = registry;
    registry.on('conflict', (boot) => this.onConflict(boot));
    registry.on('state', (node, peerState) => this.onState(node, peerState));
    registry.on('down', (node, reason) => this.onDown(node, reason));
    registry.on('up', (node) => this.log.info({ node }, 'node up'));
    registry.on('unlisted', (node, nodes) => this.onUnlisted(node, nodes));
    this.link.on('reconnect', () => registry.heartbeat());
    registry.setState(state, false);
    // Quiet first: a newcomer under a name already running must not disturb the peers' view of that node.
    registry.start(true);
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(this.cluster.heartbeatInterval * 1.5)));
    const unlisted = this.unlistedBy;
    if (!this.conflicted && unlisted === undefined) registry.beginHeartbeats();
    if (this.conflicted) {
      await this.stop();
      throw new SwitchyardError('SY_ERR_NODE_CONFLICT', `another process already runs as node "${this.cluster.node}" of cluster "${this.cluster.name}": start this one with another --node`);
    }
    if (unlisted !== undefined) {
      await this.stop();
      throw new SwitchyardError(
        'SY_ERR_NODE_UNLISTED',
        `node "${unlisted.node}" of cluster "${this.cluster.name}" runs with cluster.nodes ${JSON.stringify(unlisted.nodes)}, which does not list this node "${this.cluster.node}": ` +
          `it would refuse this node's heartbeats and links. Give every node the same cluster.nodes, "${this.cluster.node}" included (a node that holds no instance must be listed too), and restart "${unlisted.node}" with it`,
      );
    }
    this.started = true;
  }

  /** What this node runs changed: peers hear it at once. */
  setState(state: NodeState): void {
    this.registry?.setState(state);
  }

  /** The peers and their state, for `/healthz`. */
  peerInfo(): readonly PeerInfo[] {
    return this.registry?.peerInfo() ?? [];
  }

  /** Counters of the registry, for `/metrics`. */
  get stats(): NodeRegistry['stats'] | undefined {
    return this.registry?.stats;
  }

  /** Every other node seen up now, with its workers' link ids, for an instance that comes online. */
  peerWorkers(): ReadonlyArray<readonly [string, readonly number[]]> {
    return [...this.peers].map(([node, peer]) => [node, peer.workers === '' ? [] : peer.workers.split(',').map(Number)] as const);
  }

  /** Every instance of another node seen up now, for a worker forked later. */
  remoteInstances(): ReadonlyArray<readonly [string, number, string]> {
    return [...this.peers.values()].flatMap((peer) => [...peer.instances.values()]);
  }

  async stop(): Promise<void> {
    this.registry?.stop();
    this.registry = undefined;
    await this.link?.close();
    this.link = undefined;
  }

  private onConflict(boot: number): void {
    if (!this.started) {
      this.conflicted = true;
      return;
    }
    this.log.error({ node: this.cluster.node, boot }, 'another process sends heartbeats under this node\'s name (two nodes started with one name); this one keeps its instances');
  }

  private onUnlisted(node: string, nodes: readonly string[]): void {
    // Before the start: refuse it (start() throws). After it, the registry's throttled warning says it; the peer stays unseen.
    if (!this.started) this.unlistedBy ??= { node, nodes };
  }

  private onState(node: string, state: NodeState): void {
    let peer = this.peers.get(node);
    if (peer === undefined) {
      peer = { instances: new Map(), workers: '' };
      this.peers.set(node, peer);
    }
    const seen = new Set<string>();
    for (const [service, index, epoch] of state.instances) {
      const count = this.instances[service];
      // An instance this config does not place on that node is not trusted: one home per instance.
      if (count === undefined || index >= count) continue;
      const key = `${service}#${index}`;
      seen.add(key);
      const endpoint = formatRemoteEndpoint(node, instanceEndpoint(service, index), epoch);
      if (peer.instances.get(key)?.[2] === endpoint) continue;
      peer.instances.set(key, [service, index, endpoint]);
      this.hooks.instanceUp(service, index, endpoint);
    }
    for (const [key, [service, index]] of [...peer.instances]) {
      if (seen.has(key)) continue;
      peer.instances.delete(key);
      this.hooks.instanceDown(service, index);
    }
    const workers = [...state.workers].sort((a, b) => a - b);
    const signature = workers.join(',');
    if (signature !== peer.workers) {
      peer.workers = signature;
      this.hooks.remoteWorkers(node, workers, 'worker exited');
    }
  }

  private onDown(node: string, reason: DownReason): void {
    this.log.warn({ node, reason }, 'node down: its clients are closed (1006, "node lost") and events for its instances held');
    const peer = this.peers.get(node);
    this.peers.delete(node);
    if (peer !== undefined) for (const [service, index] of peer.instances.values()) this.hooks.instanceDown(service, index);
    this.hooks.remoteWorkers(node, [], 'node lost');
  }
}

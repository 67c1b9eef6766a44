/**
 * What the master runs, and how their events are wired: the worker pool,
 * each service's instances (slots), the cluster node with `cluster`, the
 * health/metrics queries, and the resources a start takes (the socket
 * folder, the TLS certificate, the ops server, the pinger, the bound port).
 * `SwitchyardServer` (server.ts) owns the lifecycle and calls `start()` and
 * `stop()`; what each process is told of the others is in announcements.ts.
 */
import { clusterLinkId } from '../client-id';
import { instanceKey } from '../shard-key';
import { ClusterNode } from './cluster-node';
import * as fs from 'node:fs';
import type { Logger } from '../logger';
import type { ResolvedOptions } from '../options';
import type { MasterToWorker, TlsMaterial } from '../protocol';
import type { ChildExit } from './child';
import { announceInstance, announceServices, clusterState, introducePeers } from './announcements';
import { ClusterQueries, type HealthReport } from './cluster-queries';
import { healthReport } from './health';
import { pingInterval, serviceLiveness, type Liveness, type WorkerLinkView } from './liveness';
import { MasterMetrics } from './master-metrics';
import { OpsServer } from './ops-server';
import { probePort } from './probe-port';
import { reloadInTurn } from './rolling-reload';
import type { ReadyInfo, ServerEvents } from './server-events';
import { ServiceSlot, type ServiceSlotHooks } from './service-slot';
import type { ResizeContext } from './instance-resize';
import { createSocketDir, removeStaleSocketDirs } from './socket-dir';
import { certificateValidity, readTlsMaterial } from './tls-material';
import type { RemoteServiceStats, ServerState, ServerStats } from './stats';
import type { TypedEventEmitter } from './typed-event-emitter';
import { WorkerPool } from './worker-pool';

/** Where the processes' events go: the server's own `emit`. */
export type ServerEventSink = Pick<TypedEventEmitter<ServerEvents>, 'emit'>;

export class MasterProcesses {
  private boundPort = 0;
  readonly pool: WorkerPool;
  /** A private folder (mode 0700) for the services' Unix sockets: made by start(), removed on close. */
  private socketDir: string | undefined;
  /** Each service's instances, by index; `slots` is all of them. */
  readonly services = new Map<string, readonly ServiceSlot[]>();
  readonly slots: ServiceSlot[] = [];
  /** Numbers slots for their socket paths: never reused, so a new instance's socket never meets an old one's. */
  private nextSlotIndex = 0;
  private slotHooks: ServiceSlotHooks | undefined;
  /** What a reload that changes an instance count works with (instance-resize.ts). */
  readonly resizing: ResizeContext = {
    slotsOf: (name) => this.services.get(name) ?? [],
    newSlot: (name, instance, instances) => this.newSlot(name, instance, instances),
    setSlots: (name, slots) => this.setSlots(name, slots),
    setWorkerInstances: (name, instances) => this.pool.setInstances(name, instances),
    toWorkers: (message) => this.toWorkers(message),
    announce: (slot) => {
      if (slot.endpoint !== undefined) announceInstance(this, slot, slot.endpoint);
      introducePeers(this, slot);
    },
    startTimeout: () => this.options.startTimeout,
    reloadInTurn: (slots, deadline) => reloadInTurn(slots, deadline),
    log: () => this.log,
  };
  readonly metrics: MasterMetrics;
  readonly queries: ClusterQueries;
  private readonly startedAt = Date.now();
  /** With `tls`: the certificate every worker serves, read at start and at each reload; sent to each worker forked. */
  private tlsMaterial: TlsMaterial | undefined;
  /** With `opsPort`: the master's server for the health, readiness and metrics endpoints. */
  private ops: OpsServer | undefined;
  private opsBoundPort = 0;
  /** Pings every running service every quarter of `livenessTimeout`, from start to stop. */
  private pinger: NodeJS.Timeout | undefined;
  /** With `cluster`: heartbeats, liveness and discovery of the other nodes (cluster-node.ts). */
  readonly cluster: ClusterNode | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly log: Logger,
    private readonly events: ServerEventSink,
    /** The server's lifecycle state, for `stats()`. */
    private readonly serverState: () => ServerState,
  ) {
    this.pool = new WorkerPool(this.options, this.log, {
      onForked: (workerId, worker) => {
        // Before the worker hears of any endpoint: the instances accept its links from now on.
        for (const slot of this.slots) slot.linkKeys.admit(this.linkIdOf(workerId));
        // Before anything else: a TLS worker listens only once it has its certificate.
        if (this.tlsMaterial !== undefined) worker.deliver({ type: 'tls', ...this.tlsMaterial }, true);
        announceServices(this, workerId, worker);
        this.clusterStateChanged();
      },
      onExit: (workerId, exit, expected, instance) => {
        for (const slot of this.slots) slot.linkKeys.revoke(this.linkIdOf(workerId));
        this.queries.retire(instance);
        this.onWorkerExit(workerId, exit, expected);
        this.clusterStateChanged();
      },
      onReady: (workerId, pid) => this.events.emit('workerOnline', { workerId, pid }),
      onQuery: (workerId, qid, what) => this.queries.onQuery(workerId, qid, what),
      onMetrics: (qid, metrics) => this.queries.onMetrics(qid, metrics),
      // Only the instance that listened at `endpoint` forgives (crash-window.ts matches it).
      onQuarantined: (service, endpoint, deliveries) => {
        for (const slot of this.services.get(service) ?? []) slot.forgiveCrashes(endpoint, deliveries);
      },
    });
    this.metrics = new MasterMetrics(() => this.stats());
    this.queries = new ClusterQueries(
      {
        health: () => this.health(),
        ownMetrics: () => this.metrics.snapshot(),
        metricsSources: () => [...this.pool.channels(), ...this.slots],
        replyTo: (workerId, message) => this.pool.channel(workerId)?.deliver(message, true),
      },
      this.log,
      this.options.metricsCacheMs,
    );
    const hooks: ServiceSlotHooks = {
      onExit: (slot, exit, expected, instance) => {
        this.queries.retire(instance);
        this.events.emit('serviceExit', { service: slot.name, instance: slot.instanceIndex, ...exit, expected });
        this.clusterStateChanged();
      },
      onMetrics: (qid, metrics) => this.queries.onMetrics(qid, metrics),
      liveWorkers: () => this.pool.workerIds().map((workerId) => this.linkIdOf(workerId)),
      onOnline: (slot, pid, restarted, endpoint) => {
        // Before any other node hears of it: the new process admits the links of the workers those nodes run.
        for (const [node, workers] of this.cluster?.peerWorkers() ?? []) slot.announcePeer({ type: 'remoteWorkers', node, workers, reason: 'worker exited' });
        announceInstance(this, slot, endpoint);
        introducePeers(this, slot);
        this.clusterStateChanged();
        this.events.emit('serviceOnline', { service: slot.name, instance: slot.instanceIndex, pid, restarted });
      },
      onFailed: (slot) => {
        const clients = this.pool.clientsOf(slot.key);
        this.toWorkers({ type: 'serviceFailed', service: slot.name, instance: slot.instanceIndex });
        this.events.emit('serviceFailed', { service: slot.name, instance: slot.instanceIndex, clients });
      },
    };
    this.slotHooks = hooks;
    const { cluster, placement } = this.options;
    for (const [name] of Object.entries(this.options.services)) {
      const { instances } = this.options.shards[name] ?? { instances: 1 };
      const slots: ServiceSlot[] = [];
      for (let instance = 0; instance < instances; instance++) {
        // With `cluster`, a node runs only the instances placed on it; the others are reached over NATS.
        if (cluster !== false && placement[name]?.[instance] !== cluster.node) continue;
        slots.push(this.newSlot(name, instance, instances));
      }
      this.services.set(name, slots);
    }
    if (cluster !== false) {
      const counts = Object.fromEntries(Object.entries(this.options.shards).map(([name, shard]) => [name, shard.instances]));
      this.cluster = new ClusterNode(cluster, counts, this.log, {
        instanceUp: (service, instance, endpoint) => this.toWorkers({ type: 'serviceUp', service, instance, endpoint, secret: '' }),
        instanceDown: (service, instance) => this.toWorkers({ type: 'serviceDown', service, instance }),
        remoteWorkers: (node, workers, reason) => {
          for (const slot of this.slots) slot.announcePeer({ type: 'remoteWorkers', node, workers, reason });
        },
      });
      const node = this.cluster;
      this.metrics.trackNats(() => node.stats, () => node.peerInfo());
    }
    this.slots.push(...[...this.services.values()].flat());
  }

  /** The port the workers listen on; 0 before `start()` bound it. */
  get port(): number {
    return this.boundPort;
  }

  /** The port of the ops endpoints (`opsPort`); 0 without one, or before `start()` bound it. */
  get opsPort(): number {
    return this.opsBoundPort;
  }

  async start(): Promise<void> {
    // Before any process: a certificate that cannot be used fails the start with the file's name.
    if (this.options.tls !== false) {
      this.tlsMaterial = readTlsMaterial(this.options.tls);
      this.warnIfNotValid(this.tlsMaterial);
    }
    this.boundPort = await probePort(this.options.host, this.options.port);
    if (this.options.opsPort !== false) {
      const { healthPath, readyPath, metricsPath } = this.options;
      const paths = { health: healthPath === false ? null : healthPath, ready: readyPath === false ? null : readyPath, metrics: metricsPath === false ? null : metricsPath };
      this.ops = new OpsServer(paths, (what, reply) => this.queries.answer(what, reply), this.log);
      // Up before any process: a probe gets an honest 503 while the cluster starts.
      this.opsBoundPort = await this.ops.listen(this.options.opsHost, this.options.opsPort);
    }
    // Before any process: a second process under this node's name must not start instances the first one runs.
    await this.cluster?.start(clusterState(this));
    removeStaleSocketDirs(this.log);
    this.socketDir = createSocketDir();
    this.pinger = setInterval(() => {
      for (const slot of this.slots) slot.deliver({ type: 'ping' });
    }, pingInterval(this.options.livenessTimeout));
    await Promise.all(this.slots.map((slot) => slot.start()));
    await this.pool.start(this.boundPort);
  }

  /** What `ready` reports, once every process is up. */
  readyInfo(): ReadyInfo {
    return {
      port: this.boundPort,
      host: this.options.host,
      workers: this.options.workers,
      balancing: this.pool.balancing,
      tls: this.options.tls !== false,
      ops: this.ops === undefined ? null : { host: this.options.opsHost, port: this.opsBoundPort },
      services: Object.fromEntries([...this.services.keys()].map((name) => [name, `/${name}`])),
    };
  }

  /** Which processes are not ready, for the start timeout's message: an operator must know which one hung. */
  notReady(): string {
    const services = this.slots.filter((slot) => slot.state !== 'online').map((slot) => `service "${slot.key}" (${slot.state})`);
    const workers = this.pool.workerStats();
    let workerPart: string;
    if (workers.length === 0) workerPart = 'workers: not started yet (they start once every service runs)';
    else {
      const waiting = workers.filter((worker) => !worker.ready).map((worker) => `worker ${worker.id} (pid ${worker.pid ?? 'unknown'})`);
      const up = workers.length - waiting.length;
      workerPart = `workers: ${up} of ${this.options.workers} ready${waiting.length > 0 ? `, not ready: ${waiting.join(', ')}` : ''}`;
    }
    return services.length > 0 ? `not ready: ${services.join(', ')}; ${workerPart}` : workerPart;
  }

  /** Workers first (their clients' closes reach the services), then services. */
  async stop(deadline: number): Promise<void> {
    clearInterval(this.pinger);
    this.pinger = undefined;
    const now = Date.now();
    await this.pool.stop(now + Math.ceil((deadline - now) * 0.6));
    await Promise.all(this.slots.map((slot) => slot.stop(deadline)));
    await this.cluster?.stop();
    // Last: probes see the stop until the processes are gone.
    await this.ops?.close();
  }

  removeSocketDir(): void {
    if (this.socketDir !== undefined) fs.rmSync(this.socketDir, { recursive: true, force: true });
    this.socketDir = undefined;
  }

  /** Reads and checks the TLS files (throws `SY_ERR_TLS_CERT`), then hands the certificate to every worker. */
  renewTls(): void {
    if (this.options.tls === false) return;
    const material = readTlsMaterial(this.options.tls);
    this.warnIfNotValid(material);
    this.tlsMaterial = material;
    this.toWorkers({ type: 'tls', ...material });
    this.log.info({ cert: this.options.tls.cert }, 'TLS certificate reloaded');
  }

  private warnIfNotValid(material: TlsMaterial): void {
    const problem = certificateValidity(material);
    if (problem !== undefined && this.options.tls !== false) this.log.warn({ cert: this.options.tls.cert }, problem);
  }

  stats(): ServerStats {
    const workers = this.pool.workerStats();
    const held = this.pool.held();
    return {
      state: this.serverState(),
      clients: workers.reduce((sum, worker) => sum + worker.clients, 0),
      workerRestarts: this.pool.restarts,
      workers,
      services: this.slots.map((slot) => ({
        name: slot.name,
        instance: slot.instanceIndex,
        pid: slot.pid,
        state: slot.state,
        restarts: slot.restarts,
        uptimeMs: slot.uptimeMs,
        heldMessages: held.get(slot.key) ?? 0,
        ipcQueueDepth: slot.queueDepth,
        ipcDropped: slot.queueDropped,
      })),
      remoteServices: this.remoteServices(held),
      routing: this.pool.routing(),
    };
  }

  /** The instances placed on other nodes, with what this node's workers hold for each (their reports key it as the slots' `key`). */
  private remoteServices(held: ReadonlyMap<string, number>): RemoteServiceStats[] {
    const { cluster, placement } = this.options;
    if (cluster === false) return [];
    const remote: RemoteServiceStats[] = [];
    for (const [name, nodes] of Object.entries(placement)) {
      nodes.forEach((node, instance) => {
        if (node !== cluster.node) remote.push({ name, instance, node, heldMessages: held.get(instanceKey(name, instance, nodes.length)) ?? 0 });
      });
    }
    return remote;
  }

  /** `/healthz` and `/readyz`: processes up, and every service live (see health.ts, liveness.ts). */
  health(): HealthReport {
    const now = Date.now();
    const liveness = new Map<string, Liveness>();
    const links = new Map<string, readonly WorkerLinkView[]>();
    for (const slot of this.slots) {
      const views = this.pool.linkViews(slot.key);
      links.set(slot.key, views);
      const input = { onlineSince: slot.pings.onlineSince, lastPong: slot.pings.lastAnswer, workers: views };
      liveness.set(slot.key, slot.state === 'online' ? serviceLiveness(input, now, this.options.livenessTimeout) : { live: false, reason: `service is ${slot.state}` });
    }
    const nodes = this.cluster?.peerInfo();
    return healthReport({ stats: this.stats(), expectedWorkers: this.options.workers, uptimeMs: now - this.startedAt, liveness, links, ...(nodes === undefined ? {} : { nodes }) });
  }

  /** The id a worker's links present (`clusterLinkId`: it carries the node with `cluster`; the worker id on one machine). */
  linkIdOf(workerId: number): number {
    const { cluster } = this.options;
    return cluster === false ? workerId : clusterLinkId(cluster.nodes.indexOf(cluster.node), workerId);
  }

  toWorkers(message: MasterToWorker): void {
    for (const worker of this.pool.channels()) worker.deliver(message, true);
  }

  private clusterStateChanged(): void {
    this.cluster?.setState(clusterState(this));
  }

  private newSlot(name: string, instance: number, instances: number): ServiceSlot {
    const modulePath = this.options.services[name] as string;
    return new ServiceSlot(name, modulePath, () => this.socketDir as string, this.nextSlotIndex++, instance, instances, this.options, this.log, this.slotHooks as ServiceSlotHooks);
  }

  private setSlots(name: string, slots: readonly ServiceSlot[]): void {
    this.services.set(name, slots);
    this.slots.splice(0, this.slots.length, ...[...this.services.values()].flat());
  }

  private onWorkerExit(workerId: number, exit: ChildExit, expected: boolean): void {
    if (!expected) this.log.warn({ worker: workerId }, 'worker exited; its services report its clients closed (1006)');
    this.events.emit('workerExit', { workerId, ...exit, expected });
  }
}

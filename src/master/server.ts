/**
 * The master: the public server object of the library and the CLI, and the
 * cluster's control plane. It forks the services and the workers, tells the
 * workers where each service instance listens (client traffic then flows
 * between them directly), supervises everything, and runs the lifecycle
 * `idle → starting → listening → closing → closed`.
 */
import { clusterLinkId } from '../client-id';
import type { NodeState } from '../nats/node-registry';
import { ClusterNode } from './cluster-node';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { ListenBalancing } from '../balancing';
import { isSwitchyardError, SwitchyardError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { resolveOptions, staticDirWarning, type ResolvedOptions, type SwitchyardOptions } from '../options';
import type { MasterToWorker, TlsMaterial } from '../protocol';
import type { ChildExit } from './child';
import { ClusterQueries, type HealthReport } from './cluster-queries';
import { healthReport } from './health';
import { pingInterval, serviceLiveness, type Liveness, type WorkerLinkView } from './liveness';
import { MasterMetrics } from './master-metrics';
import { OpsServer } from './ops-server';
import { ServiceSlot, type ServiceSlotHooks } from './service-slot';
import { checkCounts, resizeService, type ReloadOptions, type ResizeContext } from './instance-resize';
import { createSocketDir, removeStaleSocketDirs } from './socket-dir';
import { SignalHandlers, type SignalOptions } from './signals';
import { certificateValidity, readTlsMaterial } from './tls-material';
import type { ServerState, ServerStats } from './stats';
import { WorkerPool, type WorkerChannel } from './worker-pool';
import { TypedEventEmitter } from './typed-event-emitter';

export type { ServerState, ServerStats, ServiceStats, WorkerStats } from './stats';
export type { ReloadOptions } from './instance-resize';

export interface ReadyInfo {
  readonly port: number;
  readonly host: string;
  readonly workers: number;
  /** How connections reach the workers (option `balancing`, `'auto'` resolved for this runtime). */
  readonly balancing: ListenBalancing;
  /** Whether the port serves HTTPS and `wss://` (option `tls`). */
  readonly tls: boolean;
  /** Where the master serves the health, readiness and metrics endpoints (option `opsPort`), or null when the public port does. */
  readonly ops: { readonly host: string; readonly port: number } | null;
  /** Service name → URL path it answers on. */
  readonly services: Readonly<Record<string, string>>;
}

export interface WorkerExitInfo extends ChildExit {
  readonly workerId: number;
  /** False when the worker crashed (a replacement is forked). */
  readonly expected: boolean;
}

export interface WorkerOnlineInfo {
  readonly workerId: number;
  readonly pid: number | undefined;
}

export interface ServiceOnlineInfo {
  readonly service: string;
  /** Which instance (0 for a service that runs one). */
  readonly instance: number;
  readonly pid: number | undefined;
  readonly restarted: boolean;
}

export interface ServiceExitInfo extends ChildExit {
  readonly service: string;
  /** Which instance (0 for a service that runs one). */
  readonly instance: number;
  /** False when the service crashed (it is restarted). */
  readonly expected: boolean;
}

/** Events of a `SwitchyardServer`. */
export interface ServerEvents {
  ready: [info: ReadyInfo];
  /** A worker listens: at startup and after each replacement. */
  workerOnline: [info: WorkerOnlineInfo];
  workerExit: [info: WorkerExitInfo];
  /** A service runs: at startup and after each restart (`restarted: true`). */
  serviceOnline: [info: ServiceOnlineInfo];
  serviceExit: [info: ServiceExitInfo];
  /** A service instance crashed `crashLoopCount` times within `crashLoopWindow`: it stays down; its clients were closed with 1011 (the other instances serve on). */
  serviceFailed: [info: { readonly service: string; readonly instance: number; readonly clients: number }];
  /** A rolling reload finished. A reload that failed emits nothing: `reload()` rejects with `SY_ERR_RELOAD_FAILED`. */
  reload: [];
  close: [];
}

/**
 * Checks that `port` (0: any free one) can be bound on `host` and returns it.
 * node:cluster keys shared handles by address and port, so without this a
 * second server on a port this process already serves would silently join it.
 */
function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(new SwitchyardError('SY_ERR_ADDRESS_IN_USE', `cannot listen on ${host}:${port}: ${error.code ?? error.message}`, { cause: error })),
    );
    probe.listen({ port, host, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The cluster's master, as `createServer` returns it. `on`/`once`/`off` take only the names of `ServerEvents` (a misspelt one does not compile). */
export class SwitchyardServer extends TypedEventEmitter<ServerEvents> {
  readonly options: ResolvedOptions;
  readonly log: Logger;
  private currentState: ServerState = 'idle';
  private boundPort = 0;
  private readonly pool: WorkerPool;
  /** A private folder (mode 0700) for the services' Unix sockets: made by listen(), removed on close. */
  private socketDir: string | undefined;
  /** Each service's instances, by index; `slots` is all of them. */
  private readonly services = new Map<string, readonly ServiceSlot[]>();
  private readonly slots: ServiceSlot[] = [];
  /** Numbers slots for their socket paths: never reused, so a new instance's socket never meets an old one's. */
  private nextSlotIndex = 0;
  private slotHooks: ServiceSlotHooks | undefined;
  /** What a reload that changes an instance count works with (instance-resize.ts). */
  private readonly resizing: ResizeContext = {
    slotsOf: (name) => this.services.get(name) ?? [],
    newSlot: (name, instance, instances) => this.newSlot(name, instance, instances),
    setSlots: (name, slots) => this.setSlots(name, slots),
    setWorkerInstances: (name, instances) => this.pool.setInstances(name, instances),
    toWorkers: (message) => this.toWorkers(message),
    announce: (slot) => {
      if (slot.endpoint !== undefined) this.announceInstance(slot, slot.endpoint);
      this.introducePeers(slot);
    },
    startTimeout: () => this.options.startTimeout,
    reloadInTurn: (slots, deadline) => reloadInTurn(slots, deadline),
    log: () => this.log,
  };
  private readonly metrics: MasterMetrics;
  private readonly queries: ClusterQueries;
  private readonly startedAt = Date.now();
  private starting: Promise<number> | undefined;
  private closing: Promise<void> | undefined;
  private reloading: Promise<void> | undefined;
  /** With `tls`: the certificate every worker serves, read at start and at each reload; sent to each worker forked. */
  private tlsMaterial: TlsMaterial | undefined;
  /** With `opsPort`: the master's server for the health, readiness and metrics endpoints. */
  private ops: OpsServer | undefined;
  private opsBoundPort = 0;
  /** Pings every running service every quarter of `livenessTimeout`, from start to stop. */
  private pinger: NodeJS.Timeout | undefined;
  /** With `cluster`: heartbeats, liveness and discovery of the other nodes (cluster-node.ts). */
  private readonly cluster: ClusterNode | undefined;
  /** Set by `handleSignals()`. */
  private signals: SignalHandlers | undefined;

  constructor(options: SwitchyardOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.log = createLogger(this.options.logLevel, 'master', {}, { pretty: this.options.logPretty });
    this.pool = new WorkerPool(this.options, this.log, {
      onForked: (workerId, worker) => {
        // Before the worker hears of any endpoint: the instances accept its links from now on.
        for (const slot of this.slots) slot.linkKeys.admit(this.linkIdOf(workerId));
        // Before anything else: a TLS worker listens only once it has its certificate.
        if (this.tlsMaterial !== undefined) worker.deliver({ type: 'tls', ...this.tlsMaterial }, true);
        this.announceServices(workerId, worker);
        this.clusterStateChanged();
      },
      onExit: (workerId, exit, expected, instance) => {
        for (const slot of this.slots) slot.linkKeys.revoke(this.linkIdOf(workerId));
        this.queries.retire(instance);
        this.onWorkerExit(workerId, exit, expected);
        this.clusterStateChanged();
      },
      onReady: (workerId, pid) => this.emit('workerOnline', { workerId, pid }),
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
        this.emit('serviceExit', { service: slot.name, instance: slot.instanceIndex, ...exit, expected });
        this.clusterStateChanged();
      },
      onMetrics: (qid, metrics) => this.queries.onMetrics(qid, metrics),
      liveWorkers: () => this.pool.workerIds().map((workerId) => this.linkIdOf(workerId)),
      onOnline: (slot, pid, restarted, endpoint) => {
        // Before any other node hears of it: the new process admits the links of the workers those nodes run.
        for (const [node, workers] of this.cluster?.peerWorkers() ?? []) slot.announcePeer({ type: 'remoteWorkers', node, workers, reason: 'worker exited' });
        this.announceInstance(slot, endpoint);
        this.introducePeers(slot);
        this.clusterStateChanged();
        this.emit('serviceOnline', { service: slot.name, instance: slot.instanceIndex, pid, restarted });
      },
      onFailed: (slot) => {
        const clients = this.pool.clientsOf(slot.key);
        this.toWorkers({ type: 'serviceFailed', service: slot.name, instance: slot.instanceIndex });
        this.emit('serviceFailed', { service: slot.name, instance: slot.instanceIndex, clients });
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

  get state(): ServerState {
    return this.currentState;
  }

  /** The port the workers listen on; 0 before `listen()` resolved. */
  get port(): number {
    return this.boundPort;
  }

  /** The port of the ops endpoints (`opsPort`); 0 without one, or before `listen()` resolved. */
  get opsPort(): number {
    return this.opsBoundPort;
  }

  /**
   * Starts every service, then every worker. Resolves with the bound port once
   * all of them are ready; rejects with a `SwitchyardError` (for example
   * `SY_ERR_SERVICE_START_FAILED`) after stopping whatever had started.
   */
  listen(): Promise<number> {
    if (this.currentState !== 'idle') {
      throw new SwitchyardError('SY_ERR_INVALID_STATE', `listen() was called on a server that is ${this.currentState}`);
    }
    this.currentState = 'starting';
    this.starting = this.start();
    return this.starting;
  }

  /**
   * Stops accepting, closes every client with 1001, lets services run
   * `onClose` and `onStop`, and resolves once every child process has exited.
   * Processes still running after `options.stopTimeout` are SIGKILLed.
   */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.shutdown();
    return this.closing;
  }

  /**
   * Forwards the process's signals to this server: SIGHUP → `reload()`,
   * SIGTERM/SIGINT → `close()` and then `process.exit()` (0 after a clean
   * stop, 1 when it failed; a second signal exits at once). The one-liner for
   * an embedder run by systemd, Docker or Kubernetes:
   * `await createServer(options).handleSignals().listen()`. Once per server;
   * `{ exit: false }` stops without exiting. Returns this server.
   */
  handleSignals(options: SignalOptions = {}): this {
    if (this.signals !== undefined) throw new SwitchyardError('SY_ERR_INVALID_STATE', 'handleSignals() was already called on this server');
    this.signals = new SignalHandlers(this, options);
    return this;
  }

  /**
   * Rolling reload: restarts every service through hold-and-replay (a new
   * instance starts next to the running one; once its `onStart` resolved, the
   * old one finishes its handlers and runs `onStop` while messages are held,
   * and the new one resumes every client), then replaces the workers one at a
   * time (each new one listens before the old one closes its clients with
   * 1012). New code on disk is picked up by the new processes. Resolves when
   * done; a call during a reload returns the same promise.
   *
   * When a service's new instance cannot start, its running instance keeps
   * serving, the workers are not replaced (no client is touched), and this
   * rejects with `SY_ERR_RELOAD_FAILED` naming the service and the cause (the
   * `SY_ERR_SERVICE_START_FAILED`); services whose new instance started run
   * the new code.
   */
  reload(options: ReloadOptions = {}): Promise<void> {
    if (this.currentState !== 'listening' || this.closing !== undefined) {
      throw new SwitchyardError('SY_ERR_INVALID_STATE', `reload() was called on a server that is ${this.currentState}`);
    }
    const counts = checkCounts(options, (name) => this.services.has(name));
    // Every node places instances from the same counts: one node alone cannot change them (restart the nodes with the new config).
    if (this.cluster !== undefined && [...counts].some(([name, count]) => count !== (this.options.shards[name]?.instances ?? 1))) {
      throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'reload options.instances cannot change instance counts with cluster set: restart every node with the new config');
    }
    if (options.workers !== undefined && typeof options.workers !== 'boolean') throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'reload options.workers must be true or false');
    if (this.reloading === undefined) {
      this.reloading = this.rollingReload(counts, options.workers !== false).finally(() => {
        this.reloading = undefined;
      });
    }
    return this.reloading;
  }

  /**
   * Reads the `tls` files again and gives the new certificate to every
   * worker, in place: new handshakes get it, established connections keep
   * theirs, no process is replaced and no client closed (for a renewed
   * certificate; `reload()` does this too, first). Each worker switches as
   * soon as it reads the message, within milliseconds. Rejects with
   * `SY_ERR_TLS_CERT` naming the file when a file cannot be read or used
   * (the workers keep the certificate they have); `SY_ERR_INVALID_STATE`
   * unless listening with `tls`.
   */
  reloadTls(): Promise<void> {
    if (this.currentState !== 'listening' || this.closing !== undefined || this.options.tls === false) {
      const why = this.options.tls === false ? 'without options.tls' : `that is ${this.currentState}`;
      throw new SwitchyardError('SY_ERR_INVALID_STATE', `reloadTls() was called on a server ${why}`);
    }
    return new Promise((resolve) => {
      this.renewTls();
      resolve();
    });
  }

  /** Reads and checks the TLS files (throws `SY_ERR_TLS_CERT`), then hands the certificate to every worker. */
  private renewTls(): void {
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
      state: this.currentState,
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
      routing: this.pool.routing(),
    };
  }

  /** The id a worker's links present (`clusterLinkId`: it carries the node with `cluster`; the worker id on one machine). */
  private linkIdOf(workerId: number): number {
    const { cluster } = this.options;
    return cluster === false ? workerId : clusterLinkId(cluster.nodes.indexOf(cluster.node), workerId);
  }

  private toWorkers(message: MasterToWorker): void {
    for (const worker of this.pool.channels()) worker.deliver(message, true);
  }

  /** Tells every worker where a service's new instance listens, each with its own secret for it. */
  private announceInstance(slot: ServiceSlot, endpoint: string): void {
    for (const workerId of this.pool.workerIds()) {
      const secret = slot.linkSecret(this.linkIdOf(workerId));
      if (secret !== undefined) this.pool.channel(workerId)?.deliver({ type: 'serviceUp', service: slot.name, instance: slot.instanceIndex, endpoint, secret }, true);
    }
  }

  /**
   * A service of several instances: `slot`'s new process and each running
   * sibling learn where the other takes peer connections, each with its own
   * secret; from then on they talk directly.
   */
  private introducePeers(slot: ServiceSlot): void {
    if (slot.instances === 1) return;
    const endpoint = slot.peerEndpoint;
    if (endpoint === undefined) return;
    for (const sibling of this.services.get(slot.name) ?? []) {
      const siblingEndpoint = sibling.peerEndpoint;
      if (sibling === slot || siblingEndpoint === undefined) continue;
      const toSibling = slot.peerSecret(sibling.instanceIndex);
      const toSlot = sibling.peerSecret(slot.instanceIndex);
      if (toSibling !== undefined) sibling.announcePeer({ type: 'peerUp', instance: slot.instanceIndex, endpoint, secret: toSibling });
      if (toSlot !== undefined) slot.announcePeer({ type: 'peerUp', instance: sibling.instanceIndex, endpoint: siblingEndpoint, secret: toSlot });
    }
  }

  /** What this node runs, for its heartbeats: the instances up (their pid the epoch) and the workers' link ids. */
  private clusterState(): NodeState {
    const instances: Array<readonly [string, number, number]> = [];
    for (const slot of this.slots) {
      const { pid } = slot;
      if (slot.endpoint !== undefined && pid !== undefined) instances.push([slot.name, slot.instanceIndex, pid]);
    }
    return { instances, workers: this.pool.workerIds().map((workerId) => this.linkIdOf(workerId)) };
  }

  private clusterStateChanged(): void {
    this.cluster?.setState(this.clusterState());
  }

  /** Tells a new worker where each running service listens (with its secrets), and which have failed. */
  private announceServices(workerId: number, worker: WorkerChannel): void {
    for (const [service, instance, endpoint] of this.cluster?.remoteInstances() ?? []) worker.deliver({ type: 'serviceUp', service, instance, endpoint, secret: '' }, true);
    for (const slot of this.slots) {
      const { endpoint } = slot;
      const secret = slot.linkSecret(this.linkIdOf(workerId));
      const instance = slot.instanceIndex;
      if (endpoint !== undefined && secret !== undefined) worker.deliver({ type: 'serviceUp', service: slot.name, instance, endpoint, secret }, true);
      else if (slot.state === 'failed') worker.deliver({ type: 'serviceFailed', service: slot.name, instance }, true);
    }
  }

  /**
   * Services first: a new instance that cannot start fails the reload before
   * any client has been moved (the worker reload closes every client with 1012).
   */
  private async rollingReload(counts: ReadonlyMap<string, number>, replaceWorkers: boolean): Promise<void> {
    try {
      // First: a certificate that cannot be used fails the reload before anything is touched.
      this.renewTls();
    } catch (cause) {
      this.log.error({ err: cause }, 'reload: the TLS files cannot be used; the workers keep their certificate');
      throw new SwitchyardError('SY_ERR_RELOAD_FAILED', `reload failed: ${(cause as Error).message}; nothing was reloaded and the workers keep their certificate`, { cause });
    }
    this.log.info('rolling reload: services');
    const deadline = Date.now() + this.options.stopTimeout;
    // Services side by side; a service's instances one at a time, so that its other shards serve throughout.
    // With `cluster`, a node may run none of a service's instances, or some of them (counts cannot change then: see reload()).
    const services = [...this.services.values()].filter((slots) => slots.length > 0);
    const outcomes = await Promise.allSettled(
      services.map((slots) => {
        const name = (slots[0] as ServiceSlot).name;
        const count = counts.get(name);
        return count === undefined || count === slots.length || this.cluster !== undefined ? reloadInTurn(slots, deadline) : resizeService(this.resizing, name, count, deadline);
      }),
    );
    if (this.closing !== undefined) return;
    const failures = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [{ service: (services[i] as readonly ServiceSlot[])[0]?.name ?? '', cause: outcome.reason as unknown }] : []));
    if (failures.length > 0) {
      // Each cause names its service: `service "chat" failed to start: …`.
      const detail = failures.map(({ service, cause }) => (cause instanceof Error ? cause.message : `service "${service}": ${String(cause)}`)).join('; ');
      const error = new SwitchyardError('SY_ERR_RELOAD_FAILED', `reload failed: ${detail}; the running instances keep serving and the workers were not replaced`, {
        cause: failures[0]?.cause,
      });
      // Each slot has logged its failure; the caller of reload() reports the whole (the CLI logs it on SIGHUP).
      throw error;
    }
    if (replaceWorkers) {
      this.log.info('rolling reload: workers');
      await this.pool.reload();
    }
    if (this.closing !== undefined) return;
    this.log.info('rolling reload done');
    this.emit('reload');
  }

  private newSlot(name: string, instance: number, instances: number): ServiceSlot {
    const modulePath = this.options.services[name] as string;
    return new ServiceSlot(name, modulePath, () => this.socketDir as string, this.nextSlotIndex++, instance, instances, this.options, this.log, this.slotHooks as ServiceSlotHooks);
  }

  private setSlots(name: string, slots: readonly ServiceSlot[]): void {
    this.services.set(name, slots);
    this.slots.splice(0, this.slots.length, ...[...this.services.values()].flat());
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

  private async start(): Promise<number> {
    const staticWarning = staticDirWarning(this.options);
    if (staticWarning !== undefined) this.log.warn({ staticDir: this.options.staticDir, cwd: this.options.cwd }, staticWarning);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SwitchyardError('SY_ERR_START_TIMEOUT', `the cluster was not ready within ${this.options.startTimeout} ms; ${this.notReady()}`)),
        this.options.startTimeout,
      );
    });
    try {
      await Promise.race([this.startProcesses(), timeout]);
    } catch (error) {
      // A service that failed to start has said so in one line (service-slot.ts): its stack only at debug.
      if (isSwitchyardError(error, 'SY_ERR_SERVICE_START_FAILED')) this.log.debug({ err: error }, 'startup failed');
      else this.log.error({ err: error }, 'startup failed');
      await this.stopProcesses(Date.now() + Math.min(this.options.stopTimeout, 2000));
      this.metrics.close();
      this.removeSocketDir();
      this.currentState = 'closed';
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.closing !== undefined) return this.boundPort;
    this.currentState = 'listening';
    const info: ReadyInfo = {
      port: this.boundPort,
      host: this.options.host,
      workers: this.options.workers,
      balancing: this.pool.balancing,
      tls: this.options.tls !== false,
      ops: this.ops === undefined ? null : { host: this.options.opsHost, port: this.opsBoundPort },
      services: Object.fromEntries([...this.services.keys()].map((name) => [name, `/${name}`])),
    };
    this.log.info(info, 'switchyard is ready');
    this.emit('ready', info);
    return this.boundPort;
  }

  /** Which processes are not ready, for the start timeout's message: an operator must know which one hung. */
  private notReady(): string {
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

  private async startProcesses(): Promise<void> {
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
    await this.cluster?.start(this.clusterState());
    removeStaleSocketDirs(this.log);
    this.socketDir = createSocketDir();
    this.pinger = setInterval(() => {
      for (const slot of this.slots) slot.deliver({ type: 'ping' });
    }, pingInterval(this.options.livenessTimeout));
    await Promise.all(this.slots.map((slot) => slot.start()));
    await this.pool.start(this.boundPort);
  }

  private async shutdown(): Promise<void> {
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.currentState = 'closed';
      this.metrics.close();
      this.removeSocketDir();
      return;
    }
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    // A failed start has already stopped everything.
    if (this.state === 'closed') return;
    this.currentState = 'closing';
    this.log.info('stopping');
    await this.stopProcesses(Date.now() + this.options.stopTimeout);
    this.queries.close();
    this.metrics.close();
    this.removeSocketDir();
    this.currentState = 'closed';
    this.log.info('stopped');
    this.emit('close');
  }

  private removeSocketDir(): void {
    if (this.socketDir !== undefined) fs.rmSync(this.socketDir, { recursive: true, force: true });
    this.socketDir = undefined;
  }

  /** Workers first (their clients' closes reach the services), then services. */
  private async stopProcesses(deadline: number): Promise<void> {
    clearInterval(this.pinger);
    this.pinger = undefined;
    const now = Date.now();
    await this.pool.stop(now + Math.ceil((deadline - now) * 0.6));
    await Promise.all(this.slots.map((slot) => slot.stop(deadline)));
    await this.cluster?.stop();
    // Last: probes see the stop until the processes are gone.
    await this.ops?.close();
  }

  private onWorkerExit(workerId: number, exit: ChildExit, expected: boolean): void {
    if (!expected) this.log.warn({ worker: workerId }, 'worker exited; its services report its clients closed (1006)');
    this.emit('workerExit', { workerId, ...exit, expected });
  }
}

/** Reloads a service's instances one after another; the first that cannot start stops the turn (the rest keep their running code). */
async function reloadInTurn(slots: readonly ServiceSlot[], deadline: number): Promise<void> {
  for (const slot of slots) await slot.reload(deadline);
}

/** Creates a server; nothing starts until `listen()`. Throws `SY_ERR_INVALID_OPTION` on bad options. */
export function createServer(options: SwitchyardOptions = {}): SwitchyardServer {
  return new SwitchyardServer(options);
}

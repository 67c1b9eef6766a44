/**
 * The client-handling workers, forked with node:cluster so that they share
 * one listening socket. A worker that dies unexpectedly is replaced after a
 * backoff delay; its services see its links close and report its clients
 * closed (1006).
 */
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { encodeChildConfig, workerLimits, CHILD_CONFIG_ENV, type IpcLimits, type WorkerConfig } from '../child-env';
import { CLOSE_CODES, SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import { listenBalancing, type ListenBalancing } from '../balancing';
import type { ResolvedOptions } from '../options';
import type { ServiceShards } from '../shard-key';
import { isWorkerToMaster, type ClusterQuery, type MasterToWorker, type MetricsSnapshot, type RoutingCounters, type WorkerStatus, type WorkerToMaster } from '../protocol';
import { Backoff } from './backoff';
import { Child, type ChildExit, type ChildHandle } from './child';
import { WORKER_ENTRY, forkSettings } from './entry-points';
import type { WorkerLinkView } from './liveness';
import type { WorkerStats } from './stats';

/** What the pool uses of a forked cluster worker. */
export interface ForkedWorker {
  readonly id: number;
  readonly process: ChildHandle;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** How a worker is forked with its environment: node:cluster by default; a fake in unit tests. */
export type ForkWorker = (env: Readonly<Record<string, string>>) => ForkedWorker;

/** The pool's own record of one worker; only the pool changes it. */
interface WorkerEntry {
  readonly id: number;
  readonly child: Child<MasterToWorker, WorkerToMaster>;
  ready: boolean;
  /** When it became ready (epoch ms; 0 before): the liveness deadline of its links starts then. */
  readyAt: number;
  /** Being replaced by a rolling reload: its exit is expected. */
  retiring: boolean;
  /** Forked by a rolling reload: if it dies before listening, the reload reports it (no restart of its own). */
  readonly forReload: boolean;
  /** Kills a worker that does not listen within startTimeout. */
  readyTimer: NodeJS.Timeout | undefined;
  /** Its latest report: clients, held messages, drops. */
  status: WorkerStatus | undefined;
  /** Why it could not start, as it said before exiting (a module that does not load). */
  startError: string | undefined;
}

/** The master's IPC channel to one worker (node:cluster's `process.send`), not a data-plane link. */
export type WorkerChannel = Child<MasterToWorker, WorkerToMaster>;

/** Names a worker's process instance (and its `process` label in metrics); node:cluster never reuses an id. */
function workerInstance(id: number): string {
  return `worker-${id}`;
}

const NO_ROUTING: RoutingCounters = { foreignAddressDrops: 0, goneClientDrops: 0, serviceQueueFull: 0, linkQueueFull: 0, requestsRefused: 0 };
const ROUTING_KEYS = Object.keys(NO_ROUTING) as ReadonlyArray<keyof RoutingCounters>;

function addRouting(into: Record<keyof RoutingCounters, number>, from: RoutingCounters): void {
  for (const key of ROUTING_KEYS) into[key] += from[key];
}

export interface WorkerPoolHooks {
  /** Worker `workerId` was forked: the services must admit it, and it must hear where each listens. */
  onForked(workerId: number, worker: WorkerChannel): void;
  onQuery(workerId: number, qid: number, what: ClusterQuery): void;
  onMetrics(qid: number, metrics: MetricsSnapshot): void;
  /** A worker quarantined an event that the service's instance at `endpoint` died holding, after `deliveries` deliveries. */
  onQuarantined(service: string, endpoint: string, deliveries: number): void;
  /** The worker process instance `instance` exited; `expected` is false for a crash. */
  onExit(workerId: number, exit: ChildExit, expected: boolean, instance: string): void;
  /** A worker (first start or replacement) listens. */
  onReady(workerId: number, pid: number | undefined): void;
}

let primaryConfigured = false;

/**
 * Node's cluster scheduling policy for each `balancing` mode; none for
 * `'reuse-port'`, whose workers listen on sockets of their own (`exclusive`)
 * and so never use the master's handles.
 */
const SCHEDULING_POLICY: Readonly<Record<ListenBalancing, number | undefined>> = {
  'round-robin': cluster.SCHED_RR,
  kernel: cluster.SCHED_NONE,
  'kernel-fair': cluster.SCHED_NONE,
  'reuse-port': undefined,
};

/**
 * `'kernel-fair'`: libuv then accepts one connection per wakeup of a
 * listening socket and sleeps a moment (nanosleep) before the next, instead
 * of accepting until the queue is empty, so the worker that woke first does
 * not take a whole burst (read by libuv at the worker's first listen).
 */
const KERNEL_FAIR_ENV: Readonly<Record<string, string>> = { UV_TCP_SINGLE_ACCEPT: '1' };

function setupPrimaryOnce(balancing: ListenBalancing, log: Logger): void {
  const policy = SCHEDULING_POLICY[balancing];
  if (primaryConfigured) {
    if (policy !== undefined && cluster.schedulingPolicy !== policy) {
      log.warn({ balancing }, 'options.balancing ignored: node:cluster fixed its scheduling policy when the first server in this process started');
    }
    return;
  }
  primaryConfigured = true;
  const settings = forkSettings(WORKER_ENTRY);
  // Node freezes the policy at the first setupPrimary(), for the whole process.
  if (policy !== undefined) cluster.schedulingPolicy = policy;
  // cluster.fork() would otherwise re-run process.argv[1]: under jest or an
  // embedding application that is not our worker.
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv: settings.execArgv, serialization: 'json' });
}

/** The default `ForkWorker`: node:cluster, set up once per process. */
function clusterFork(balancing: ListenBalancing, log: Logger): ForkWorker {
  return (env) => {
    setupPrimaryOnce(balancing, log);
    return cluster.fork(env) satisfies ClusterWorker;
  };
}

export class WorkerPool {
  private readonly entries = new Map<number, WorkerEntry>();
  private restartCount = 0;
  /** Routing counters of the workers that exited, from their last status: the cluster's totals never dip. */
  private readonly exitedRouting: Record<keyof RoutingCounters, number> = { ...NO_ROUTING };
  private readonly forkWorker: ForkWorker;
  /** `options.balancing` on this runtime (`'auto'` resolved). */
  readonly balancing: ListenBalancing;
  private port = 0;
  private started = false;
  private stopping = false;
  private readonly backoff: Backoff;
  private readonly limits: IpcLimits;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readyWaiters = new Map<number, { resolve(port: number): void; reject(error: Error): void }>();

  /** Each service's instances and shard key, as workers forked now must know them (a reload may change a count). */
  private shards: Readonly<Record<string, ServiceShards>>;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly log: Logger,
    private readonly hooks: WorkerPoolHooks,
    forkWorker?: ForkWorker,
  ) {
    this.backoff = new Backoff(options.restartDelay, options.maxRestartDelay);
    this.limits = { maxMessages: options.ipcMaxQueuedMessages, maxBytes: options.ipcMaxQueuedBytes };
    this.balancing = listenBalancing(options.balancing);
    this.forkWorker = forkWorker ?? clusterFork(this.balancing, log);
    this.shards = options.shards;
  }

  /** A reload changed how many instances `service` runs: workers forked from now on keep that many links. */
  setInstances(service: string, instances: number): void {
    const current = this.shards[service];
    if (current === undefined) return;
    this.shards = Object.freeze({ ...this.shards, [service]: Object.freeze({ ...current, instances }) });
  }

  /** Workers replaced after a crash, since the server started. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Workers forked and not yet exited. */
  get size(): number {
    return this.entries.size;
  }

  /** Each live worker as `stats()` shows it; client counts from its latest status report. */
  workerStats(): WorkerStats[] {
    return [...this.entries.values()].map((entry) => ({
      id: entry.id,
      pid: entry.child.pid,
      ready: entry.ready,
      clients: entry.status === undefined ? 0 : Object.values(entry.status.clients).reduce((sum, count) => sum + count, 0),
      uptimeMs: Date.now() - entry.child.startedAt,
      ipcQueueDepth: entry.child.queueDepth,
      ipcDropped: entry.child.queueDropped,
    }));
  }

  /** What every worker dropped or refused on its service links since the server started, exited ones included. */
  routing(): RoutingCounters {
    const sum = { ...this.exitedRouting };
    for (const { status } of this.entries.values()) if (status !== undefined) addRouting(sum, status.routing);
    return sum;
  }

  /** Clients of `service` across the live workers, as last reported. */
  clientsOf(service: string): number {
    let clients = 0;
    for (const { status } of this.entries.values()) clients += status?.clients[service] ?? 0;
    return clients;
  }

  /** Unacknowledged client events per service across the live workers, as last reported. */
  held(): Map<string, number> {
    const held = new Map<string, number>();
    for (const { status } of this.entries.values()) {
      if (status === undefined) continue;
      for (const [service, count] of Object.entries(status.held)) held.set(service, (held.get(service) ?? 0) + count);
    }
    return held;
  }

  /** Each ready worker's link to `service`, as last reported (for liveness; see liveness.ts). */
  linkViews(service: string): WorkerLinkView[] {
    const views: WorkerLinkView[] = [];
    for (const entry of this.entries.values()) {
      if (entry.ready && !entry.retiring) views.push({ worker: entry.id, link: entry.status?.links[service], readySince: entry.readyAt });
    }
    return views;
  }

  /** The IPC channel to worker `id`, if it is alive. */
  channel(id: number): WorkerChannel | undefined {
    return this.entries.get(id)?.child;
  }

  /** The ids of every live worker (forked and not yet exited): those the services admit links from. */
  workerIds(): number[] {
    return [...this.entries.keys()];
  }

  /** The IPC channels to every live worker. */
  *channels(): IterableIterator<WorkerChannel> {
    for (const entry of this.entries.values()) yield entry.child;
  }

  /** Forks `options.workers` workers on `port`; resolves once all of them listen. */
  async start(port: number): Promise<void> {
    if (this.stopping) return;
    this.port = port;
    const ready: Array<Promise<number>> = [];
    for (let i = 0; i < this.options.workers; i++) ready.push(this.fork());
    await Promise.all(ready);
    this.started = true;
  }

  /** Stops every worker (clients closed with 1001), SIGKILL at `deadline`. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    const stop: MasterToWorker = { type: 'stop', code: CLOSE_CODES.GOING_AWAY, reason: 'server shutting down', holdMs: this.holdMs(deadline) };
    await Promise.all([...this.entries.values()].map((entry) => entry.child.stop(stop, deadline)));
  }

  /**
   * Replaces the workers one at a time: a new worker listens before the old
   * one stops accepting and closes its clients with 1012 (so they reconnect,
   * to the workers that remain). Connections never go unanswered: while one
   * worker drains, the others accept.
   */
  async reload(): Promise<void> {
    for (const entry of [...this.entries.values()]) {
      // Gone meanwhile (it crashed; its replacement is already new code): nothing to replace.
      if (this.stopping || !this.entries.has(entry.id)) continue;
      // Retiring before the fork: if it crashes while its replacement starts, no second replacement is forked.
      entry.retiring = true;
      try {
        await this.fork(true);
      } catch (error) {
        entry.retiring = false;
        if (this.stopping) return;
        throw error;
      }
      if (this.stopping) return;
      this.log.info({ worker: entry.id }, 'reload: replacement listens; draining the old worker');
      const deadline = Date.now() + this.options.stopTimeout;
      await entry.child.stop({ type: 'stop', code: CLOSE_CODES.SERVICE_RESTART, reason: 'server reloading', holdMs: this.holdMs(deadline) }, deadline);
    }
  }

  /**
   * How long a stopping worker may hold the close of a client whose replies
   * are still on their way (docs/failure-semantics.md): `closeGrace`, but at
   * most half the time to its deadline, so that the close handshakes and the
   * links' last writes still fit before the SIGKILL.
   */
  private holdMs(deadline: number): number {
    return Math.max(0, Math.min(this.options.closeGrace, Math.floor((deadline - Date.now()) / 2)));
  }

  private fork(forReload = false): Promise<number> {
    // The environment only: node:cluster took the execArgv at setupPrimary(), once per process.
    const settings = forkSettings(WORKER_ENTRY, [this.options.authenticate, this.options.http].filter((file) => file !== false));
    const config: WorkerConfig = {
      role: 'worker',
      port: this.port,
      host: this.options.host,
      services: Object.keys(this.options.services),
      shards: this.shards,
      forwardHeaders: this.options.forwardHeaders,
      maxPayload: this.options.maxPayload,
      logLevel: this.options.logLevel,
      logPretty: this.options.logPretty,
      ipc: this.limits,
      // With an ops port the master serves these, and the public port does not.
      healthPath: this.options.healthPath === false || this.options.opsPort !== false ? null : this.options.healthPath,
      metricsPath: this.options.metricsPath === false || this.options.opsPort !== false ? null : this.options.metricsPath,
      readyPath: this.options.readyPath === false || this.options.opsPort !== false ? null : this.options.readyPath,
      requestTimeout: this.options.requestTimeout,
      maxRequestBody: this.options.maxRequestBody,
      staticDir: this.options.staticDir,
      tls: this.options.tls !== false,
      limits: workerLimits(this.options),
      authenticate: this.options.authenticate === false ? null : this.options.authenticate,
      jwt: this.options.jwt === false ? null : this.options.jwt,
      httpApp: this.options.http === false ? null : this.options.http,
      ...(this.options.cluster !== false ? { cluster: this.options.cluster } : {}),
      ...(this.balancing === 'reuse-port' ? { reusePort: true } : {}),
    };
    const worker = this.forkWorker({ ...settings.env, ...(this.balancing === 'kernel-fair' ? KERNEL_FAIR_ENV : {}), [CHILD_CONFIG_ENV]: encodeChildConfig(config) });
    const id = worker.id;
    const child: Child<MasterToWorker, WorkerToMaster> = new Child(worker.process, workerInstance(id), this.limits, this.log, {
      guard: isWorkerToMaster,
      onMessage: (message) => this.onMessage(id, message),
      onExit: (exit) => this.onExit(id, exit),
    });
    // node:cluster re-emits child errors on the Worker; without a listener they would throw.
    worker.on('error', (error) => this.log.debug({ err: error, worker: id }, 'worker error'));
    const readyTimer = setTimeout(() => {
      this.log.error({ worker: id, timeoutMs: this.options.startTimeout }, 'worker did not listen in time; killing it');
      child.kill('SIGKILL');
    }, this.options.startTimeout);
    this.entries.set(id, { id, child, ready: false, readyAt: 0, retiring: false, forReload, readyTimer, status: undefined, startError: undefined });
    this.hooks.onForked(id, child);
    this.log.debug({ worker: id, pid: worker.process.pid }, 'worker forked');
    return new Promise((resolve, reject) => this.readyWaiters.set(id, { resolve, reject }));
  }

  private onMessage(id: number, message: WorkerToMaster): void {
    switch (message.type) {
      case 'ready': {
        const entry = this.entries.get(id);
        if (entry === undefined) return;
        entry.ready = true;
        entry.readyAt = Date.now();
        clearTimeout(entry.readyTimer);
        entry.readyTimer = undefined;
        entry.child.markOnline();
        this.hooks.onReady(id, entry.child.pid);
        this.readyWaiters.get(id)?.resolve(message.port);
        this.readyWaiters.delete(id);
        return;
      }
      case 'status': {
        const entry = this.entries.get(id);
        if (entry !== undefined) entry.status = message;
        return;
      }
      case 'query':
        this.hooks.onQuery(id, message.qid, message.what);
        return;
      case 'metrics':
        this.hooks.onMetrics(message.qid, message.metrics);
        return;
      case 'quarantined':
        this.hooks.onQuarantined(message.service, message.endpoint, message.deliveries);
        return;
      case 'startFailed': {
        const entry = this.entries.get(id);
        if (entry !== undefined) entry.startError = message.error.message;
        this.log.error({ worker: id, error: message.error }, 'worker cannot start');
        return;
      }
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onExit(id: number, exit: ChildExit): void {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    clearTimeout(entry?.readyTimer);
    if (entry?.status !== undefined) addRouting(this.exitedRouting, entry.status.routing);
    const expected = this.stopping || entry?.retiring === true;
    this.hooks.onExit(id, exit, expected, workerInstance(id));
    const waiter = this.readyWaiters.get(id);
    if (waiter !== undefined) {
      this.readyWaiters.delete(id);
      const why = entry?.startError === undefined ? '' : `: ${entry.startError}`;
      waiter.reject(new SwitchyardError('SY_ERR_WORKER_START_FAILED', `worker ${id} exited before listening on port ${this.port} (code ${exit.code}, signal ${exit.signal})${why}`));
      // During startup listen() fails as a whole, and a reload reports its own failure;
      // a crash replacement that died early is retried.
      if (!this.started || entry?.forReload === true) return;
    }
    if (expected || entry === undefined) return;
    const delay = this.backoff.next(Date.now() - entry.child.startedAt);
    this.restartCount++;
    this.log.error({ worker: id, code: exit.code, signal: exit.signal, delay }, 'worker exited; forking a replacement');
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.stopping) return;
      this.fork().catch((error: unknown) => this.log.error({ err: error }, 'replacement worker failed to start'));
    }, delay);
    this.restartTimers.add(timer);
  }
}

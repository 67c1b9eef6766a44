/**
 * One instance of a configured service (index `instance` of `instances`; a
 * service in the string form has one) and the process that runs it: start,
 * restart with backoff, crash-loop detection and reload, each instance on its
 * own. Each instance listens at an
 * endpoint of its own (a Unix socket); once it runs, the master announces the
 * endpoint to the workers, whose links carry the clients' traffic and keep
 * the delivery guarantees (hold-and-replay lives in `worker/replay-log.ts`, kept by `worker/service-link.ts`).
 *
 * The lifecycle and the reload's hand-over are here; forking a process is
 * `service-fork.ts`, when a crashed one starts again `restart-policy.ts`, and
 * what a reload's new instance says while it starts `service-messages.ts`.
 */
import { fork } from 'node:child_process';
import type { IpcLimits } from '../child-env';
import { SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import type { ResolvedOptions } from '../options';
import type { MasterToService, MetricsSnapshot, ServiceToMaster } from '../protocol';
import type { ChildExit } from './child';
import { PingClock } from './liveness';
import { LinkKeys } from './link-keys';
import { ReloadCandidate } from './reload-candidate';
import { RestartPolicy } from './restart-policy';
import { instanceKey } from '../shard-key';
import { forkServiceInstance, peerEndpointOf, type ForkProcess, type ForkedInstance, type ServiceChild, type ServiceForkSpec } from './service-fork';
import { onCandidateMessage, startFailedError } from './service-messages';

export type { ForkProcess } from './service-fork';

export type ServiceState = 'idle' | 'starting' | 'online' | 'restarting' | 'failed' | 'stopping' | 'stopped';

export interface ServiceSlotHooks {
  /** A metrics snapshot the master asked for. */
  onMetrics(qid: number, metrics: MetricsSnapshot): void;
  /** The instance runs (its `onStart` resolved) and listens at `endpoint`: at startup and after each restart. */
  onOnline(slot: ServiceSlot, pid: number | undefined, restarted: boolean, endpoint: string): void;
  /** The process `instance` (its name, see `Child.instance`) of this slot exited; `expected` is false for a crash. */
  onExit(slot: ServiceSlot, exit: ChildExit, expected: boolean, instance: string): void;
  /** The instance crashed too often: it stays down; the workers must close its clients with 1011. */
  onFailed(slot: ServiceSlot): void;
  /** The live workers' ids: a new instance admits links from them (and from each forked later, see `admitWorker`). */
  liveWorkers(): readonly number[];
}

export class ServiceSlot {
  private currentState: ServiceState = 'idle';
  /** IPC messages refused by the send queues of instances that have exited: the counter spans instances. */
  private droppedByExited = 0;
  private child: ServiceChild | undefined;
  private generation = 0;
  /** Where the running instance listens; a new path per instance, so a link never reaches a stale one. */
  private currentEndpoint: string | undefined;
  /** Each live instance's link key (the workers' secrets derive from it); the master admits and revokes workers through it. */
  readonly linkKeys = new LinkKeys<ServiceChild>();
  /** Backoff, crash-loop detection and the timers of a restart. */
  private readonly restartPolicy: RestartPolicy;
  private readonly limits: IpcLimits;
  /** What each of its processes is forked with; built once. */
  private readonly forkSpec: ServiceForkSpec;
  private reloading: { resolve(): void } | undefined;
  /** The instance a reload asked to stop: its exit is expected, and starts the next one. */
  private retiring: ServiceChild | undefined;
  private startWaiter: { resolve(): void; reject(error: SwitchyardError): void } | undefined;
  /** A reload's new instance while it starts; the running one serves meanwhile. */
  private candidate: ReloadCandidate | undefined;
  /** The running instance's pings: when it came online and last answered (see liveness.ts). */
  readonly pings = new PingClock();

  constructor(
    readonly name: string,
    readonly modulePath: string,
    /** The private folder for the instances' endpoints (made when the server starts), and this slot's index among all (socket paths stay short). */
    socketDir: () => string,
    index: number,
    /** This instance's index (0 to `instances` − 1) and the service's instance count, which the process learns too (`resize` changes it for the next process). */
    readonly instanceIndex: number,
    private instanceCount: number,
    private readonly options: ResolvedOptions,
    private readonly log: Logger,
    private readonly hooks: ServiceSlotHooks,
    forkProcess: ForkProcess = fork,
  ) {
    this.restartPolicy = new RestartPolicy(options);
    this.limits = { maxMessages: options.ipcMaxQueuedMessages, maxBytes: options.ipcMaxQueuedBytes };
    this.forkSpec = {
      name,
      modulePath,
      socketDir,
      index,
      instanceIndex,
      instances: () => this.instanceCount,
      options,
      limits: this.limits,
      log,
      forkProcess,
      onMessage: (child, message) => this.onMessage(child, message),
      onExit: (child, exit) => {
        this.linkKeys.delete(child);
        this.onExit(child, exit);
      },
    };
  }

  /** `idle → starting → online`, then `restarting`, `failed`, `stopping → stopped` (see `ServiceState`). */
  get state(): ServiceState {
    return this.currentState;
  }

  /** Restarts after a crash, since the server started. */
  get restarts(): number {
    return this.restartPolicy.restarts;
  }

  /** How many instances the service runs. */
  get instances(): number {
    return this.instanceCount;
  }

  /** A reload changed the service's instance count: reports name the instance accordingly, and its next process learns it. */
  resize(instances: number): void {
    this.instanceCount = instances;
  }

  /** Names the running (or last) process, `service-<name>.<n>` (`service-<name>#<i>.<n>` with several instances); see `Child.instance`. */
  get instance(): string {
    return this.child?.instance ?? `service-${this.key}.0`;
  }

  /** The instance's name in the workers' reports: see `instanceKey`. */
  get key(): string {
    return instanceKey(this.name, this.instanceIndex, this.instances);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Where the running instance listens, when it runs. */
  get endpoint(): string | undefined {
    return this.currentState === 'online' ? this.currentEndpoint : undefined;
  }

  /** Where the running instance takes its peers' connections, when it runs and its service has several instances. */
  get peerEndpoint(): string | undefined {
    const { endpoint } = this;
    return endpoint === undefined || this.instances === 1 ? undefined : peerEndpointOf(endpoint);
  }

  /** The secret peer instance `from` presents to the running instance, when it runs. */
  peerSecret(from: number): string | undefined {
    return this.endpoint === undefined || this.child === undefined ? undefined : this.linkKeys.peerSecret(this.child, from);
  }

  /** Tells the running instance where a peer now listens (see `peers.ts`). */
  announcePeer(message: Extract<MasterToService, { type: 'peerUp' | 'remoteWorkers' }>): void {
    if (this.currentState === 'online') this.child?.deliver(message, true);
  }

  /** Worker `worker`'s secret for the running instance's links, when it runs (announced with its endpoint). */
  linkSecret(worker: number): string | undefined {
    return this.endpoint === undefined || this.child === undefined ? undefined : this.linkKeys.secret(this.child, worker);
  }

  get uptimeMs(): number {
    return this.child !== undefined && this.currentState === 'online' ? Date.now() - this.child.startedAt : 0;
  }

  get queueDepth(): number {
    return this.child?.queueDepth ?? 0;
  }

  get queueDropped(): number {
    return this.droppedByExited + (this.child?.isAlive === true ? this.child.queueDropped : 0);
  }

  /** Forks the service and resolves once its `onStart` has resolved. */
  start(): Promise<void> {
    this.currentState = 'starting';
    return new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      this.spawn();
    });
  }

  /** Asks the running instance for its metrics, or pings it (liveness: never `mustKeep`, a stopped process reads nothing); false when none runs. */
  deliver(message: Extract<MasterToService, { type: 'metricsRequest' | 'ping' }>, mustKeep = false): boolean {
    return this.currentState === 'online' && (this.child?.deliver(message, mustKeep) ?? false);
  }

  /**
   * Replaces the running instance. The new one is started first, next to the
   * running one, which serves meanwhile: if it cannot start (the module does
   * not load, `onStart` throws, it exits, or it is not ready within
   * `startTimeout`), it is killed, the running instance keeps serving as if
   * nothing happened, and this rejects with `SY_ERR_SERVICE_START_FAILED`.
   * Once it runs, the old one handles nothing more, finishes its handlers and
   * runs `onStop` (the workers hold their clients' messages meanwhile), and
   * the new one takes over and resumes every client. Resolves once it has.
   *
   * A failed service gets a fresh start the same way (the fix is presumably
   * on disk now), with its crash count reset; if it cannot start, it stays
   * failed.
   */
  async reload(deadline: number): Promise<void> {
    const reviving = this.currentState === 'failed';
    if (!reviving && (this.currentState !== 'online' || this.child === undefined || this.candidate !== undefined)) return;
    if (reviving) this.log.info({ service: this.name }, 'reload: starting the failed service afresh');
    const { child, endpoint } = this.forkInstance();
    const candidate = new ReloadCandidate(child, endpoint, this.name, this.options.startTimeout, this.log);
    this.candidate = candidate;
    try {
      await candidate.ready;
    } catch (error) {
      // Set aside, so that the next reload can start another; its exit is still reported (see onExit).
      if (this.candidate === candidate) this.candidate = undefined;
      throw error;
    }
    if (reviving && this.currentState === 'failed') this.restartPolicy.reset();
    await this.handOver(deadline);
  }

  /**
   * The reload's new instance runs: the old one retires (its exit promotes the
   * new one), or, when there is none left to retire (it crashed meanwhile, or
   * the service had failed), the new one takes over at once.
   */
  private handOver(deadline: number): Promise<void> {
    const candidate = this.candidate;
    // A stop began meanwhile, or the new instance died already: stop() and onExit() took care of it.
    if (candidate === undefined || this.currentState === 'stopping' || this.currentState === 'stopped') return Promise.resolve();
    const old = this.child;
    return new Promise<void>((resolve) => {
      this.reloading = { resolve };
      if (old !== undefined && old.isAlive && this.currentState === 'online') {
        this.currentState = 'restarting';
        this.retiring = old;
        void old.stop({ type: 'stop', mode: 'retire' }, deadline);
        return;
      }
      // A restart after a crash may be on its way: the new instance replaces it.
      this.restartPolicy.cancel();
      old?.kill('SIGKILL');
      this.promote(candidate);
    });
  }

  /** The reload's new instance becomes the running one and is announced to the workers. */
  private promote(candidate: ReloadCandidate): void {
    this.candidate = undefined;
    this.child = candidate.child;
    this.currentEndpoint = candidate.endpoint;
    this.currentState = 'online';
    this.pings.restart();
    this.log.info({ service: this.name, pid: candidate.child.pid }, 'service reloaded; the workers resume its clients');
    this.hooks.onOnline(this, candidate.child.pid, true, candidate.endpoint);
    this.reloading?.resolve();
    this.reloading = undefined;
  }

  /** Asks the service to run `onStop` and exit; SIGKILL at `deadline`. */
  async stop(deadline: number): Promise<void> {
    this.restartPolicy.cancel();
    const child = this.child;
    const candidate = this.candidate;
    this.currentState = 'stopping';
    this.reloading?.resolve();
    this.reloading = undefined;
    candidate?.cancel();
    await Promise.all(
      [child, candidate?.child].map((instance) => (instance !== undefined && instance.isAlive ? instance.stop({ type: 'stop', mode: 'shutdown' }, deadline) : undefined)),
    );
    this.currentState = 'stopped';
  }

  /** Forks an instance and becomes its running (or starting) one; restarts are bounded by startTimeout here. */
  private spawn(): void {
    const { child, endpoint } = this.forkInstance();
    this.child = child;
    this.currentEndpoint = endpoint;
    if (this.startWaiter === undefined) {
      // The first start is bounded by listen()'s own timeout; restarts by this one.
      this.restartPolicy.armStartDeadline(() => {
        this.log.error({ service: this.name, pid: child.pid, timeoutMs: this.options.startTimeout }, 'restarted service did not start in time; killing it');
        child.kill('SIGKILL');
      });
    }
  }

  /** Forks a new instance with an endpoint of its own (`service-fork.ts`); the caller decides what it becomes. */
  private forkInstance(): ForkedInstance {
    this.generation++;
    const forked = forkServiceInstance(this.forkSpec, this.generation, this.key);
    // First of all its messages, so the instance knows its key before any link can reach it.
    this.linkKeys.add(forked.child, this.hooks.liveWorkers());
    this.log.debug({ service: this.name, pid: forked.child.pid }, 'service process forked');
    return forked;
  }

  private onMessage(child: ServiceChild, message: ServiceToMaster): void {
    const candidate = this.candidate;
    if (candidate !== undefined && child === candidate.child) return onCandidateMessage(candidate, message, this.name, this.hooks);
    if (child !== this.child) return;
    switch (message.type) {
      case 'started':
        this.onStarted(child);
        return;
      case 'startFailed': {
        const error = startFailedError(this.name, message.error);
        // One line with the cause by default; the stack (the service process logs it too) at debug.
        this.log.error({ service: this.name, module: this.modulePath }, error.message);
        this.log.debug({ service: this.name, err: message.error }, 'service failed to start');
        this.failStart(error);
        return;
      }
      case 'metrics':
        this.hooks.onMetrics(message.qid, message.metrics);
        return;
      case 'pong':
        this.pings.answered();
        return;
      case 'stopped':
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onStarted(child: ServiceChild): void {
    this.restartPolicy.clearStartDeadline();
    child.markOnline();
    // Started after a stop began (a slow onStart past startTimeout, or close() during a restart): it is on its way out.
    if (this.currentState === 'stopping' || this.currentState === 'stopped') return;
    const restarted = this.currentState === 'restarting';
    if (restarted) this.log.info({ service: this.name, pid: child.pid }, 'service restarted; the workers resume its clients');
    this.currentState = 'online';
    this.pings.restart();
    this.hooks.onOnline(this, child.pid, restarted, this.currentEndpoint as string);
    this.reloading?.resolve();
    this.reloading = undefined;
    this.startWaiter?.resolve();
    this.startWaiter = undefined;
  }

  private failStart(error: SwitchyardError): void {
    const waiter = this.startWaiter;
    if (waiter === undefined) return;
    this.startWaiter = undefined;
    this.child?.kill('SIGKILL');
    waiter.reject(error);
  }

  private onExit(child: ServiceChild, exit: ChildExit): void {
    const candidate = this.candidate;
    if (candidate !== undefined && child === candidate.child) {
      // Not a crash of the service: the running instance serves on, and nothing restarts this one.
      this.candidate = undefined;
      this.hooks.onExit(this, exit, true, child.instance);
      candidate.exited(exit);
      return;
    }
    if (child !== this.child) {
      // An instance set aside (a reload's new instance that could not start, a restart a reload's replaced): its exit was asked for.
      this.hooks.onExit(this, exit, true, child.instance);
      return;
    }
    this.restartPolicy.clearStartDeadline();
    this.droppedByExited += child.queueDropped;
    const retired = child === this.retiring;
    const expected = this.currentState === 'stopping' || this.currentState === 'stopped' || retired;
    this.hooks.onExit(this, exit, expected, child.instance);
    if (this.currentState === 'stopping' || this.currentState === 'stopped') return;
    if (this.startWaiter !== undefined) {
      this.failStart(new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${this.name}" exited during startup (code ${exit.code}, signal ${exit.signal})`));
      this.currentState = 'stopped';
      return;
    }
    if (retired) {
      this.retiring = undefined;
      const next = this.candidate;
      if (next !== undefined && next.started) return this.promote(next);
      // The new instance died before taking over: a fresh one starts at once; if it crashes, the usual backoff and crash-loop rules apply.
      this.spawn();
      return;
    }
    const delay = this.restartPolicy.crashed(this.currentEndpoint, Date.now() - child.startedAt, () => {
      if (this.currentState === 'restarting') this.spawn();
    });
    if (delay === undefined) return this.fail(exit);
    this.currentState = 'restarting';
    this.log.error({ service: this.name, code: exit.code, signal: exit.signal, delay }, 'service process exited; restarting');
  }

  /**
   * A worker quarantined an event that the instance at `endpoint` died
   * holding, after `deliveries` deliveries: those crashes were the event's,
   * not the service's, and leave the crash-loop window (the backoff stays).
   */
  forgiveCrashes(endpoint: string, deliveries: number): void {
    this.restartPolicy.forgive(endpoint, deliveries, this.currentEndpoint);
  }

  private fail(exit: ChildExit): void {
    this.currentState = 'failed';
    this.log.fatal(
      { service: this.name, code: exit.code, signal: exit.signal, crashes: this.restartPolicy.recentCrashes, windowMs: this.options.crashLoopWindow },
      'service is crash-looping; it stays down and its clients are closed with 1011',
    );
    this.hooks.onFailed(this);
    this.reloading?.resolve();
    this.reloading = undefined;
  }
}

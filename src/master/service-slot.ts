/**
 * One configured service and the process that runs it: start, restart with
 * backoff, and hold-and-replay while it is down. While the service restarts,
 * client messages for it are held (bounded by the IPC limits); the new
 * instance first hears `connect` (with `resumed: true`) for every client still
 * connected, then the held messages in their original order.
 */
import { fork } from 'node:child_process';
import { encodeChildConfig, CHILD_CONFIG_ENV, type IpcLimits } from '../child-env';
import { SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import type { ResolvedOptions } from '../options';
import { approximateSize, isServiceToMaster, type ClientInfo, type MasterToService, type MetricsSnapshot, type ServiceToMaster } from '../protocol';
import { Backoff } from './backoff';
import type { ServiceLink, ServiceRoutedMessage } from './broker';
import { Child, type ChildExit } from './child';
import { SERVICE_ENTRY, forkSettings } from './entry-points';

export type ServiceState = 'idle' | 'starting' | 'online' | 'restarting' | 'stopping' | 'stopped';

export interface ServiceSlotHooks {
  /** Routing messages (send, broadcast, close, topics, responses) from the running instance. */
  onRouted(name: string, message: ServiceRoutedMessage): void;
  /** A metrics snapshot the master asked for. */
  onMetrics(qid: number, metrics: MetricsSnapshot): void;
  /** The service runs (its `onStart` resolved): at startup and after each restart. */
  onOnline(name: string, pid: number | undefined, resumed: boolean): void;
  /** The process exited; `expected` is false for a crash. */
  onExit(name: string, exit: ChildExit, expected: boolean): void;
  /** Clients currently connected to this service, for a restarted instance. */
  clientsOf(name: string): Iterable<ClientInfo>;
}

export class ServiceSlot implements ServiceLink {
  state: ServiceState = 'idle';
  restarts = 0;
  private child: Child<MasterToService, ServiceToMaster> | undefined;
  private held: MasterToService[] = [];
  private heldBytes = 0;
  private readonly backoff: Backoff;
  private readonly limits: IpcLimits;
  private restartTimer: NodeJS.Timeout | undefined;
  private startWaiter: { resolve(): void; reject(error: SwitchyardError): void } | undefined;

  constructor(
    readonly name: string,
    readonly modulePath: string,
    private readonly options: ResolvedOptions,
    private readonly log: Logger,
    private readonly hooks: ServiceSlotHooks,
  ) {
    this.backoff = new Backoff(options.restartDelay, options.maxRestartDelay);
    this.limits = { maxMessages: options.ipcMaxQueuedMessages, maxBytes: options.ipcMaxQueuedBytes };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get uptimeMs(): number {
    return this.child !== undefined && this.state === 'online' ? Date.now() - this.child.startedAt : 0;
  }

  get available(): boolean {
    return this.state === 'online';
  }

  get queueDepth(): number {
    return this.child?.queueDepth ?? 0;
  }

  get queueDropped(): number {
    return this.child?.queueDropped ?? 0;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Forks the service and resolves once its `onStart` has resolved. */
  start(): Promise<void> {
    this.state = 'starting';
    return new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      this.spawn();
    });
  }

  deliver(message: MasterToService, mustKeep = false): boolean {
    if (this.state === 'online' || this.state === 'starting') {
      return this.child?.deliver(message, mustKeep) ?? false;
    }
    if (this.state !== 'restarting') return false;
    // A restarted instance learns the connected clients from the broker, so
    // connects and closes need not be held; only client messages are.
    if (message.type !== 'message') return message.type === 'connect' || message.type === 'close';
    const size = approximateSize(message);
    if (this.held.length >= this.limits.maxMessages || this.heldBytes + size > this.limits.maxBytes) return false;
    this.held.push(message);
    this.heldBytes += size;
    return true;
  }

  /** Asks the service to run `onStop` and exit; SIGKILL at `deadline`. */
  async stop(deadline: number): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    this.state = 'stopping';
    this.held = [];
    this.heldBytes = 0;
    if (child !== undefined && child.isAlive) await child.stop({ type: 'stop' }, deadline);
    this.state = 'stopped';
  }

  /** SIGKILLs the running process (for tests and fault injection). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  private spawn(): void {
    const settings = forkSettings(SERVICE_ENTRY, [this.modulePath]);
    const config = encodeChildConfig({ role: 'service', name: this.name, modulePath: this.modulePath, logLevel: this.options.logLevel, ipc: this.limits, requestTimeout: this.options.requestTimeout });
    const processHandle = fork(SERVICE_ENTRY, [], {
      cwd: this.options.cwd,
      env: { ...process.env, ...settings.env, [CHILD_CONFIG_ENV]: config },
      execArgv: settings.execArgv,
      serialization: 'json',
    });
    const child: Child<MasterToService, ServiceToMaster> = new Child(processHandle, this.limits, this.log, {
      guard: isServiceToMaster,
      onMessage: (message) => this.onMessage(child, message),
      onExit: (exit) => this.onExit(child, exit),
    });
    this.child = child;
    this.log.debug({ service: this.name, pid: processHandle.pid }, 'service process forked');
  }

  private onMessage(child: Child<MasterToService, ServiceToMaster>, message: ServiceToMaster): void {
    if (child !== this.child) return;
    switch (message.type) {
      case 'started':
        this.onStarted(child);
        return;
      case 'startFailed': {
        const error = new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${this.name}" failed to start: ${message.error.message}`, { cause: message.error });
        this.log.error({ service: this.name, err: message.error }, 'service failed to start');
        this.failStart(error);
        return;
      }
      case 'send':
      case 'broadcast':
      case 'close':
      case 'subscribe':
      case 'unsubscribe':
      case 'publish':
      case 'response':
        this.hooks.onRouted(this.name, message);
        return;
      case 'metrics':
        this.hooks.onMetrics(message.qid, message.metrics);
        return;
      case 'stopped':
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onStarted(child: Child<MasterToService, ServiceToMaster>): void {
    const resuming = this.state === 'restarting';
    child.state = 'online';
    if (resuming) {
      let clients = 0;
      for (const client of this.hooks.clientsOf(this.name)) {
        child.deliver({ type: 'connect', client, resumed: true }, true);
        clients++;
      }
      const held = this.held;
      this.held = [];
      this.heldBytes = 0;
      for (const message of held) child.deliver(message, true);
      this.log.info({ service: this.name, pid: child.pid, clients, replayed: held.length }, 'service restarted');
    }
    this.state = 'online';
    this.hooks.onOnline(this.name, child.pid, resuming);
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

  private onExit(child: Child<MasterToService, ServiceToMaster>, exit: ChildExit): void {
    if (child !== this.child) return;
    const expected = this.state === 'stopping' || this.state === 'stopped';
    this.hooks.onExit(this.name, exit, expected);
    if (expected) return;
    if (this.startWaiter !== undefined) {
      this.failStart(new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${this.name}" exited during startup (code ${exit.code}, signal ${exit.signal})`));
      this.state = 'stopped';
      return;
    }
    const delay = this.backoff.next(Date.now() - child.startedAt);
    this.state = 'restarting';
    this.restarts++;
    this.log.error({ service: this.name, code: exit.code, signal: exit.signal, delay }, 'service process exited; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state === 'restarting') this.spawn();
    }, delay);
  }
}

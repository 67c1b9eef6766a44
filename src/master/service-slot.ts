/**
 * One configured service and the process that runs it: start, restart with
 * backoff, crash-loop detection, reload, and hold-and-replay.
 *
 * Every client message for the service gets a sequence number and stays in
 * `unacked` until the service reports that its handler has settled. While the
 * service is down, new messages wait there too, and connects and closes wait
 * in `held`, in arrival order. A new instance first hears `connect` (with
 * `resumed: true`) for every client the previous instance knew, then the
 * messages that instance received but did not finish (marked `redelivered`),
 * then everything that arrived while it was down, in order — so even a client
 * that came and went during the outage is handled in full. `unacked` is
 * bounded by the IPC limits; past the bound `deliverMessage()` refuses, and
 * the broker closes that client with 1013.
 */
import { fork } from 'node:child_process';
import { encodeChildConfig, CHILD_CONFIG_ENV, type IpcLimits } from '../child-env';
import { CLOSE_CODES, SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import type { ResolvedOptions } from '../options';
import {
  MESSAGE_OVERHEAD,
  isServiceToMaster,
  type ClientInfo,
  type ClientMessageFields,
  type MasterToService,
  type MetricsSnapshot,
  type ServiceToMaster,
} from '../protocol';
import { Backoff } from './backoff';
import type { ServiceLink, ServiceRoutedMessage } from './broker';
import { Child, type ChildExit } from './child';
import { SERVICE_ENTRY, forkSettings } from './entry-points';

export type ServiceState = 'idle' | 'starting' | 'online' | 'restarting' | 'failed' | 'stopping' | 'stopped';

type SequencedMessage = Extract<MasterToService, { type: 'message' }>;
type ClientEvent = Extract<MasterToService, { type: 'connect' | 'close' }>;

/** What arrived while the service was down, in order: a message (by seq) or a client event. */
type Held = { readonly seq: number } | { readonly event: ClientEvent };

interface Unacked {
  readonly message: SequencedMessage;
  readonly size: number;
  /** The instance (generation) it was last sent to; 0 when not sent yet. */
  sentTo: number;
}

export interface ServiceSlotHooks {
  /** Routing messages (send, broadcast, close, topics, responses) from the running instance. */
  onRouted(name: string, message: ServiceRoutedMessage): void;
  /** A metrics snapshot the master asked for. */
  onMetrics(qid: number, metrics: MetricsSnapshot): void;
  /** The service runs (its `onStart` resolved): at startup and after each restart. */
  onOnline(name: string, pid: number | undefined, resumed: boolean): void;
  /** The process exited; `expected` is false for a crash. */
  onExit(name: string, exit: ChildExit, expected: boolean): void;
  /** A new instance is about to resume clients: state kept for the old one (topic routes) must go. */
  onFreshInstance(name: string): void;
  /** The service crashed too often: it stays down; its clients must be closed with `code`. */
  onFailed(name: string, code: number, reason: string): void;
}

export class ServiceSlot implements ServiceLink {
  state: ServiceState = 'idle';
  restarts = 0;
  private child: Child<MasterToService, ServiceToMaster> | undefined;
  private generation = 0;
  private nextSeq = 1;
  private readonly unacked = new Map<number, Unacked>();
  private unackedBytes = 0;
  /** Clients the running (or last) instance was told about and not yet told are gone. */
  private readonly known = new Map<string, ClientInfo>();
  private held: Held[] = [];
  private readonly crashTimes: number[] = [];
  private readonly backoff: Backoff;
  private readonly limits: IpcLimits;
  private restartTimer: NodeJS.Timeout | undefined;
  /** A restarted instance that does not start within startTimeout is killed (and counts as a crash). */
  private startTimer: NodeJS.Timeout | undefined;
  private reloading: { resolve(): void } | undefined;
  /** The instance a reload asked to stop: its exit is expected, and starts the next one. */
  private retiring: Child<MasterToService, ServiceToMaster> | undefined;
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

  get available(): boolean {
    return this.state === 'online';
  }

  get uptimeMs(): number {
    return this.child !== undefined && this.state === 'online' ? Date.now() - this.child.startedAt : 0;
  }

  get queueDepth(): number {
    return this.child?.queueDepth ?? 0;
  }

  get queueDropped(): number {
    return this.child?.queueDropped ?? 0;
  }

  /** Client messages not yet acknowledged: in flight, being handled, or held while the service is down. */
  get heldCount(): number {
    return this.unacked.size;
  }

  /** Forks the service and resolves once its `onStart` has resolved. */
  start(): Promise<void> {
    this.state = 'starting';
    return new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      this.spawn();
    });
  }

  /** Queues a client message, numbered and kept until acknowledged; false past the bound or when the service failed. */
  deliverMessage(fields: ClientMessageFields): boolean {
    if (this.state !== 'online' && this.state !== 'restarting') return false;
    const size = fields.data.length + MESSAGE_OVERHEAD;
    if (this.unacked.size >= this.limits.maxMessages || this.unackedBytes + size > this.limits.maxBytes) return false;
    // Built field by field: one allocation on the hottest path of the master.
    const message: SequencedMessage =
      fields.binary === true
        ? { type: 'message', id: fields.id, seq: this.nextSeq++, data: fields.data, binary: true, ...(fields.ts === undefined ? {} : { ts: fields.ts }) }
        : fields.ts === undefined
          ? { type: 'message', id: fields.id, seq: this.nextSeq++, data: fields.data }
          : { type: 'message', id: fields.id, seq: this.nextSeq++, data: fields.data, ts: fields.ts };
    const entry: Unacked = { message, size, sentTo: 0 };
    this.unacked.set(entry.message.seq, entry);
    this.unackedBytes += size;
    if (this.state === 'online') this.send(entry);
    else this.held.push({ seq: entry.message.seq });
    return true;
  }

  /**
   * Queues a control message. Connects and closes are held while the service
   * restarts; requests and metrics requests are refused unless it runs.
   */
  deliver(message: Exclude<MasterToService, { type: 'message' }>, mustKeep = false): boolean {
    if (this.state === 'online' || this.state === 'starting') {
      if (message.type === 'connect' || message.type === 'close') return this.sendEvent(message);
      return this.child?.deliver(message, mustKeep) ?? false;
    }
    if (this.state === 'restarting' && (message.type === 'connect' || message.type === 'close')) {
      // Bounded by the number of connections, like the events themselves.
      this.held.push({ event: message });
      return true;
    }
    return false;
  }

  /**
   * Replaces the running instance through hold-and-replay: the old one
   * finishes its handlers and runs `onStop`; messages meanwhile are held; the
   * new one resumes every client. Resolves once the new one runs.
   */
  reload(deadline: number): Promise<void> {
    if (this.state === 'failed') return this.revive();
    const child = this.child;
    if (this.state !== 'online' || child === undefined) return Promise.resolve();
    this.state = 'restarting';
    this.retiring = child;
    return new Promise<void>((resolve) => {
      this.reloading = { resolve };
      void child.stop({ type: 'stop' }, deadline);
    });
  }

  /**
   * A failed service gets a fresh start on reload (the fix is presumably on
   * disk now), with its crash count reset; if it fails again, the crash-loop
   * rule applies again. Resolves once it runs, or has failed again.
   */
  private revive(): Promise<void> {
    this.crashTimes.length = 0;
    this.state = 'restarting';
    this.log.info({ service: this.name }, 'reload: starting the failed service afresh');
    return new Promise<void>((resolve) => {
      this.reloading = { resolve };
      this.spawn();
    });
  }

  /** Asks the service to run `onStop` and exit; SIGKILL at `deadline`. */
  async stop(deadline: number): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    clearTimeout(this.startTimer);
    this.startTimer = undefined;
    const child = this.child;
    this.state = 'stopping';
    this.unacked.clear();
    this.unackedBytes = 0;
    this.held = [];
    this.known.clear();
    this.reloading?.resolve();
    this.reloading = undefined;
    if (child !== undefined && child.isAlive) await child.stop({ type: 'stop' }, deadline);
    this.state = 'stopped';
  }

  private send(entry: Unacked): void {
    const message = entry.sentTo === 0 ? entry.message : { ...entry.message, redelivered: true as const };
    entry.sentTo = this.generation;
    // The bound is enforced on `unacked`, which covers this queue.
    this.child?.deliver(message, true);
  }

  private sendEvent(event: ClientEvent): boolean {
    if (event.type === 'connect') this.known.set(event.client.id, event.client);
    else this.known.delete(event.id);
    return this.child?.deliver(event, true) ?? false;
  }

  private acknowledge(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const entry = this.unacked.get(seq);
      if (entry === undefined) continue;
      this.unacked.delete(seq);
      this.unackedBytes -= entry.size;
    }
  }

  private spawn(): void {
    const settings = forkSettings(SERVICE_ENTRY, [this.modulePath]);
    const config = encodeChildConfig({
      role: 'service',
      name: this.name,
      modulePath: this.modulePath,
      logLevel: this.options.logLevel,
      ipc: this.limits,
      requestTimeout: this.options.requestTimeout,
    });
    const processHandle = fork(SERVICE_ENTRY, [], {
      cwd: this.options.cwd,
      env: { ...process.env, ...settings.env, [CHILD_CONFIG_ENV]: config },
      execArgv: settings.execArgv,
      serialization: 'json',
    });
    this.generation++;
    const child: Child<MasterToService, ServiceToMaster> = new Child(processHandle, this.limits, this.log, {
      guard: isServiceToMaster,
      onMessage: (message) => this.onMessage(child, message),
      onExit: (exit) => this.onExit(child, exit),
    });
    this.child = child;
    this.log.debug({ service: this.name, pid: processHandle.pid }, 'service process forked');
    if (this.startWaiter === undefined) {
      // The first start is bounded by listen()'s own timeout; restarts by this one.
      this.startTimer = setTimeout(() => {
        this.startTimer = undefined;
        this.log.error({ service: this.name, pid: processHandle.pid, timeoutMs: this.options.startTimeout }, 'restarted service did not start in time; killing it');
        child.kill('SIGKILL');
      }, this.options.startTimeout);
    }
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
      case 'ack':
        this.acknowledge(message.seqs);
        return;
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
    clearTimeout(this.startTimer);
    this.startTimer = undefined;
    child.state = 'online';
    // Started after a stop began (a slow onStart past startTimeout, or close() during a restart): it is on its way out.
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const resuming = this.state === 'restarting';
    if (resuming) {
      // The new instance knows no subscriptions: routes left from the old one would deliver to clients it never subscribed.
      this.hooks.onFreshInstance(this.name);
      for (const client of this.known.values()) child.deliver({ type: 'connect', client, resumed: true }, true);
      let redelivered = 0;
      for (const entry of this.unacked.values()) {
        if (entry.sentTo === 0) continue;
        redelivered++;
        this.send(entry);
      }
      const held = this.held;
      this.held = [];
      for (const item of held) {
        if ('event' in item) {
          this.sendEvent(item.event);
          continue;
        }
        const entry = this.unacked.get(item.seq);
        if (entry !== undefined && entry.sentTo === 0) this.send(entry);
      }
      this.log.info({ service: this.name, pid: child.pid, clients: this.known.size, redelivered, held: held.length }, 'service restarted; clients resumed');
    }
    this.state = 'online';
    this.hooks.onOnline(this.name, child.pid, resuming);
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

  private onExit(child: Child<MasterToService, ServiceToMaster>, exit: ChildExit): void {
    if (child !== this.child) return;
    clearTimeout(this.startTimer);
    this.startTimer = undefined;
    const retired = child === this.retiring;
    const expected = this.state === 'stopping' || this.state === 'stopped' || retired;
    this.hooks.onExit(this.name, exit, expected);
    if (this.state === 'stopping' || this.state === 'stopped') return;
    if (this.startWaiter !== undefined) {
      this.failStart(new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${this.name}" exited during startup (code ${exit.code}, signal ${exit.signal})`));
      this.state = 'stopped';
      return;
    }
    if (retired) {
      // The new instance starts at once; if it crashes, the usual backoff and crash-loop rules apply.
      this.retiring = undefined;
      this.spawn();
      return;
    }
    if (this.crashLooping()) return this.fail(exit);
    const delay = this.backoff.next(Date.now() - child.startedAt);
    this.state = 'restarting';
    this.restarts++;
    this.log.error({ service: this.name, code: exit.code, signal: exit.signal, delay, held: this.unacked.size }, 'service process exited; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state === 'restarting') this.spawn();
    }, delay);
  }

  /** Records a crash; true when `crashLoopCount` crashes fell within `crashLoopWindow`. */
  private crashLooping(): boolean {
    const now = Date.now();
    this.crashTimes.push(now);
    while (this.crashTimes.length > 0 && (this.crashTimes[0] as number) <= now - this.options.crashLoopWindow) this.crashTimes.shift();
    return this.crashTimes.length >= this.options.crashLoopCount;
  }

  private fail(exit: ChildExit): void {
    this.state = 'failed';
    const lost = this.unacked.size;
    this.unacked.clear();
    this.unackedBytes = 0;
    this.held = [];
    this.known.clear();
    const reason = 'service failed';
    this.log.fatal(
      { service: this.name, code: exit.code, signal: exit.signal, crashes: this.crashTimes.length, windowMs: this.options.crashLoopWindow, unhandled: lost },
      'service is crash-looping; it stays down and its clients are closed with 1011',
    );
    this.hooks.onFailed(this.name, CLOSE_CODES.INTERNAL_ERROR, reason);
    this.reloading?.resolve();
    this.reloading = undefined;
  }
}

/**
 * The master: the public server object of the library and the CLI, and the
 * cluster's control plane. It forks the services and the workers, tells the
 * workers where each service instance listens (client traffic then flows
 * between them directly), supervises everything, and runs the lifecycle
 * `idle → starting → listening → closing → closed`.
 *
 * This file is the facade and owns that lifecycle; the processes and the
 * wiring of their events are in master-processes.ts (what each is told of
 * the others: announcements.ts), the reload's order in rolling-reload.ts.
 */
import { isSwitchyardError, SwitchyardError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { resolveOptions, staticDirWarning, type ResolvedOptions, type SwitchyardOptions } from '../options';
import type { HealthReport } from './cluster-queries';
import { checkCounts, type ReloadOptions } from './instance-resize';
import { MasterProcesses } from './master-processes';
import { rollingReload } from './rolling-reload';
import type { ServerEvents } from './server-events';
import { SignalHandlers, type SignalOptions } from './signals';
import type { ServerState, ServerStats } from './stats';
import { TypedEventEmitter } from './typed-event-emitter';

export type { RemoteServiceStats, ServerState, ServerStats, ServiceStats, WorkerStats } from './stats';
export type { ReloadOptions } from './instance-resize';
export type { ReadyInfo, ServerEvents, ServiceExitInfo, ServiceOnlineInfo, WorkerExitInfo, WorkerOnlineInfo } from './server-events';

/** The cluster's master, as `createServer` returns it. `on`/`once`/`off` take only the names of `ServerEvents` (a misspelt one does not compile). */
export class SwitchyardServer extends TypedEventEmitter<ServerEvents> {
  readonly options: ResolvedOptions;
  readonly log: Logger;
  private currentState: ServerState = 'idle';
  /** The workers, the services, the cluster node and what a start takes (master-processes.ts). */
  private readonly processes: MasterProcesses;
  private starting: Promise<number> | undefined;
  private closing: Promise<void> | undefined;
  private reloading: Promise<void> | undefined;
  /** Set by `handleSignals()`. */
  private signals: SignalHandlers | undefined;

  constructor(options: SwitchyardOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.log = createLogger(this.options.logLevel, 'master', {}, { pretty: this.options.logPretty });
    this.processes = new MasterProcesses(this.options, this.log, this, () => this.currentState);
  }

  get state(): ServerState {
    return this.currentState;
  }

  /** The port the workers listen on; 0 before `listen()` resolved. */
  get port(): number {
    return this.processes.port;
  }

  /** The port of the ops endpoints (`opsPort`); 0 without one, or before `listen()` resolved. */
  get opsPort(): number {
    return this.processes.opsPort;
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
    const counts = checkCounts(options, (name) => this.processes.services.has(name));
    // Every node places instances from the same counts: one node alone cannot change them (restart the nodes with the new config).
    if (this.processes.cluster !== undefined && [...counts].some(([name, count]) => count !== (this.options.shards[name]?.instances ?? 1))) {
      throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'reload options.instances cannot change instance counts with cluster set: restart every node with the new config');
    }
    if (options.workers !== undefined && typeof options.workers !== 'boolean') throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'reload options.workers must be true or false');
    if (this.reloading === undefined) {
      const server = { options: this.options, log: this.log, closing: () => this.closing !== undefined, reloaded: () => this.emit('reload') };
      this.reloading = rollingReload(server, this.processes, counts, options.workers !== false).finally(() => {
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
      this.processes.renewTls();
      resolve();
    });
  }

  stats(): ServerStats {
    return this.processes.stats();
  }

  /** `/healthz` and `/readyz`: processes up, and every service live (see health.ts, liveness.ts). */
  health(): HealthReport {
    return this.processes.health();
  }

  private async start(): Promise<number> {
    const staticWarning = staticDirWarning(this.options);
    if (staticWarning !== undefined) this.log.warn({ staticDir: this.options.staticDir, cwd: this.options.cwd }, staticWarning);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SwitchyardError('SY_ERR_START_TIMEOUT', `the cluster was not ready within ${this.options.startTimeout} ms; ${this.processes.notReady()}`)),
        this.options.startTimeout,
      );
    });
    try {
      await Promise.race([this.processes.start(), timeout]);
    } catch (error) {
      // A service that failed to start has said so in one line (service-slot.ts): its stack only at debug.
      if (isSwitchyardError(error, 'SY_ERR_SERVICE_START_FAILED')) this.log.debug({ err: error }, 'startup failed');
      else this.log.error({ err: error }, 'startup failed');
      await this.processes.stop(Date.now() + Math.min(this.options.stopTimeout, 2000));
      this.processes.metrics.close();
      this.processes.removeSocketDir();
      this.currentState = 'closed';
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.closing !== undefined) return this.processes.port;
    this.currentState = 'listening';
    const info = this.processes.readyInfo();
    this.log.info(info, 'switchyard is ready');
    this.emit('ready', info);
    return this.processes.port;
  }

  private async shutdown(): Promise<void> {
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.currentState = 'closed';
      this.processes.metrics.close();
      this.processes.removeSocketDir();
      return;
    }
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    // A failed start has already stopped everything.
    if (this.state === 'closed') return;
    this.currentState = 'closing';
    this.log.info('stopping');
    await this.processes.stop(Date.now() + this.options.stopTimeout);
    this.processes.queries.close();
    this.processes.metrics.close();
    this.processes.removeSocketDir();
    this.currentState = 'closed';
    this.log.info('stopped');
    this.emit('close');
  }
}

/** Creates a server; nothing starts until `listen()`. Throws `SY_ERR_INVALID_OPTION` on bad options. */
export function createServer(options: SwitchyardOptions = {}): SwitchyardServer {
  return new SwitchyardServer(options);
}

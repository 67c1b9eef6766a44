/**
 * Signals for a process that runs a Switchyard server: SIGHUP starts a
 * rolling reload, SIGTERM and SIGINT a graceful stop, then the process
 * exits (0 after a clean stop, 1 when the stop failed); a second SIGTERM or
 * SIGINT during the stop exits at once with 1 (its children notice the
 * master is gone and exit too). Without a SIGHUP listener Node's default
 * action kills the master and drops every client, so an embedder that is
 * managed by systemd (`ExecReload=kill -HUP`) or an orchestrator needs this:
 * `createServer(options).handleSignals().listen()`. The CLI uses it.
 */
import type { Logger } from '../logger';
import type { ReloadOptions } from './instance-resize';

/** What the handlers need of a server (`SwitchyardServer` is one). */
export interface SignalTarget {
  readonly state: string;
  readonly log: Logger;
  reload(options?: ReloadOptions): Promise<void>;
  close(): Promise<void>;
}

/** What `handleSignals()` does after a stop. */
export interface SignalOptions {
  /**
   * Whether the process exits once the stop is done (`0`, or `1` when
   * `close()` rejected). `false` leaves it to the application (its own
   * connections, its own exit); the handlers are then removed once the
   * stop ends. Default `true`.
   */
  readonly exit?: boolean;
  /**
   * What each SIGHUP's reload is asked for, read at that moment (the CLI
   * reads the instance counts from its flags and config file again). A
   * rejection is logged and the reload skipped. Default: `reload()` as is.
   */
  readonly reloadOptions?: () => ReloadOptions | Promise<ReloadOptions>;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * The installed handlers of one server: named methods bound once, so that
 * `remove()` takes exactly these listeners off the process.
 */
export class SignalHandlers {
  private stopping = false;
  private readonly exit: boolean;
  private readonly reloadOptions: () => ReloadOptions | Promise<ReloadOptions>;

  constructor(
    private readonly server: SignalTarget,
    options: SignalOptions = {},
    private readonly target: NodeJS.EventEmitter = process,
    private readonly exitProcess: (code: number) => void = (code) => process.exit(code),
  ) {
    this.exit = options.exit ?? true;
    this.reloadOptions = options.reloadOptions ?? (() => ({}));
    this.onStop = this.onStop.bind(this);
    this.onReload = this.onReload.bind(this);
    for (const signal of STOP_SIGNALS) target.on(signal, this.onStop);
    target.on('SIGHUP', this.onReload);
  }

  /** Takes the handlers off the process (Node's default actions apply again). */
  remove(): void {
    for (const signal of STOP_SIGNALS) this.target.off(signal, this.onStop);
    this.target.off('SIGHUP', this.onReload);
  }

  private onStop(signal: NodeJS.Signals): void {
    if (this.stopping) {
      this.server.log.warn({ signal }, `${signal} again during the stop: exiting without waiting`);
      this.exitProcess(1);
      return;
    }
    this.stopping = true;
    this.server.log.info({ signal }, `${signal}: stopping gracefully`);
    this.server.close().then(
      () => this.stopped(0),
      (error: unknown) => {
        this.server.log.error({ err: error }, 'stop failed');
        this.stopped(1);
      },
    );
  }

  private stopped(code: number): void {
    if (this.exit) this.exitProcess(code);
    else this.remove();
  }

  private onReload(): void {
    // A reload needs a listening server; a SIGHUP while starting or stopping is logged and otherwise ignored (never the default kill).
    if (this.stopping || this.server.state !== 'listening') {
      this.server.log.warn({ state: this.server.state }, 'SIGHUP ignored: the server is not listening');
      return;
    }
    this.server.log.info('SIGHUP: rolling reload');
    Promise.resolve()
      .then(this.reloadOptions)
      .then((options) => (this.stopping ? undefined : this.server.reload(options)))
      .catch((error: unknown) => this.server.log.error({ err: error }, 'rolling reload failed'));
  }
}

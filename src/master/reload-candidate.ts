/**
 * A reload's new service instance while it starts next to the running one,
 * which serves meanwhile: it takes over only once its `onStart` resolved, and
 * if it cannot start, it is killed and the running one is not touched. It
 * owns its start deadline and settles `ready` exactly once.
 */
import { SwitchyardError } from '../errors';
import type { Logger } from '../logger';
import type { MasterToService, ServiceToMaster } from '../protocol';
import type { Child, ChildExit } from './child';

export class ReloadCandidate {
  /** Resolves once its `onStart` resolved (or a stop ended the reload); rejects with `SY_ERR_SERVICE_START_FAILED`. */
  readonly ready: Promise<void>;
  private hasStarted = false;
  private timer: NodeJS.Timeout | undefined;
  private settle!: { resolve(): void; reject(error: SwitchyardError): void };

  constructor(
    readonly child: Child<MasterToService, ServiceToMaster>,
    /** Where it listens; announced to the workers only once it takes over. */
    readonly endpoint: string,
    private readonly service: string,
    startTimeout: number,
    private readonly log: Logger,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fail(new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${service}" did not start within startTimeout (${startTimeout} ms)`));
    }, startTimeout);
  }

  /** Its `onStart` resolved: it waits for the running instance to retire. */
  get started(): boolean {
    return this.hasStarted;
  }

  /** It reported that it runs. */
  markStarted(): void {
    this.clearTimer();
    this.hasStarted = true;
    this.child.markOnline();
    this.settle.resolve();
  }

  /** It cannot start (it said so, or its deadline passed): it is killed, and `ready` rejects. */
  fail(error: SwitchyardError): void {
    this.clearTimer();
    this.log.error({ service: this.service, pid: this.child.pid, err: error }, 'reload: the new instance cannot start; the running one keeps serving');
    this.child.kill('SIGKILL');
    this.settle.reject(error);
  }

  /** Its process exited: before it started, `ready` rejects (a no-op when it failed already). */
  exited(exit: ChildExit): void {
    this.clearTimer();
    if (this.hasStarted) {
      this.log.error({ service: this.service, code: exit.code, signal: exit.signal }, 'reload: the new instance exited before taking over; a fresh one starts once the old one has stopped');
      return;
    }
    this.settle.reject(new SwitchyardError('SY_ERR_SERVICE_START_FAILED', `service "${this.service}" exited during startup (code ${exit.code}, signal ${exit.signal})`));
  }

  /** A stop began: the reload that started it ends with the stop, not with an error. */
  cancel(): void {
    this.clearTimer();
    this.settle.resolve();
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

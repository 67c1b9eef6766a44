/**
 * When a crashed service instance starts again (`service-slot.ts`): after a
 * backoff that grows with quick crashes (`backoff.ts`), never once it crashed
 * `crashLoopCount` times within `crashLoopWindow` (`crash-window.ts`: it is
 * crash-looping and stays down). Owns the two timers of a restart: the delay
 * before it, and the `startTimeout` deadline of the restarted process.
 */
import type { ResolvedOptions } from '../options';
import { Backoff } from './backoff';
import { CrashWindow } from './crash-window';

export type RestartOptions = Pick<ResolvedOptions, 'restartDelay' | 'maxRestartDelay' | 'crashLoopWindow' | 'crashLoopCount' | 'startTimeout'>;

export class RestartPolicy {
  private readonly backoff: Backoff;
  private readonly crashes: CrashWindow;
  private restartCount = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** A restarted instance that does not start within startTimeout is killed (and counts as a crash). */
  private startTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RestartOptions) {
    this.backoff = new Backoff(options.restartDelay, options.maxRestartDelay);
    this.crashes = new CrashWindow(options.crashLoopWindow, options.crashLoopCount);
  }

  /** Restarts after a crash, since the server started. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Crashes in the crash-loop window now. */
  get recentCrashes(): number {
    return this.crashes.size;
  }

  /**
   * The instance at `endpoint` crashed after `uptimeMs`: `undefined` when it
   * is now crash-looping (nothing restarts it), else the backoff delay after
   * which `restart` runs.
   */
  crashed(endpoint: string | undefined, uptimeMs: number, restart: () => void): number | undefined {
    if (this.crashes.record(endpoint)) return undefined;
    const delay = this.backoff.next(uptimeMs);
    this.restartCount++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      restart();
    }, delay);
    return delay;
  }

  /** A restarted process runs: `onTimeout` runs unless it starts within `startTimeout` (see `clearStartDeadline`). */
  armStartDeadline(onTimeout: () => void): void {
    this.startTimer = setTimeout(() => {
      this.startTimer = undefined;
      onTimeout();
    }, this.options.startTimeout);
  }

  /** The process started, or exited: its start deadline is void. */
  clearStartDeadline(): void {
    clearTimeout(this.startTimer);
    this.startTimer = undefined;
  }

  /** A stop or a reload's new instance replaces any restart on its way. */
  cancel(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.clearStartDeadline();
  }

  /** Crashes that were an event's, not the service's, leave the window (the backoff stays); see `CrashWindow.forgive`. */
  forgive(endpoint: string, deliveries: number, current: string | undefined): void {
    this.crashes.forgive(endpoint, deliveries, current);
  }

  /** A failed service gets a fresh start: its crash count is reset. */
  reset(): void {
    this.crashes.reset();
  }
}

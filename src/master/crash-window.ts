/**
 * The crash-loop rule's memory for one service: the crashes within
 * `crashLoopWindow`, each with the endpoint of the instance that crashed, so
 * that the crashes a worker's quarantine ended (a poison event's, not the
 * service's) can leave the window (docs/failure-semantics.md).
 */

interface Crash {
  readonly at: number;
  readonly endpoint: string | undefined;
}

export class CrashWindow {
  private readonly crashes: Crash[] = [];
  /** A quarantine report that came before the exit of the instance it names: applied at that exit (one, the latest). */
  private pending: { readonly endpoint: string; readonly deliveries: number } | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly loopCount: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Crashes in the window now. */
  get size(): number {
    return this.crashes.length;
  }

  /** Records the crash of the instance at `endpoint`; true when `loopCount` crashes fall within the window. */
  record(endpoint: string | undefined): boolean {
    const now = this.now();
    this.crashes.push({ at: now, endpoint });
    while (this.crashes.length > 0 && (this.crashes[0] as Crash).at <= now - this.windowMs) this.crashes.shift();
    const pending = this.pending;
    if (pending !== undefined && pending.endpoint === endpoint) {
      this.pending = undefined;
      this.forgive(pending.endpoint, pending.deliveries, undefined);
    }
    return this.crashes.length >= this.loopCount;
  }

  /**
   * A worker quarantined an event that the instance at `endpoint` died
   * holding, after `deliveries` deliveries: that crash and the ones before it
   * (up to `deliveries` in all) were the event's and leave the window. When
   * the report outran the exit of the instance that is still `current`, it
   * waits for that exit.
   */
  forgive(endpoint: string, deliveries: number, current: string | undefined): void {
    const index = this.crashes.findIndex((crash) => crash.endpoint === endpoint);
    if (index === -1) {
      if (endpoint === current) this.pending = { endpoint, deliveries };
      return;
    }
    const from = Math.max(0, index + 1 - deliveries);
    this.crashes.splice(from, index + 1 - from);
  }

  /** A reload revives the service: its crash count starts afresh. */
  reset(): void {
    this.crashes.length = 0;
    this.pending = undefined;
  }
}

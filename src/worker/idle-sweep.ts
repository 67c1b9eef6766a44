/**
 * Closes clients that have sent no message for `timeoutMs`, from one timer per
 * worker. Each message only stores a timestamp; the sweep compares. Pongs do
 * not count as activity, or heartbeats would keep every idle client alive.
 */

/** How often the sweep runs: often enough that a close comes at most a quarter late, at most once a second. */
export function idleSweepInterval(timeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(timeoutMs / 4)));
}

export class IdleSweep<P> {
  /** Peer → time of its last message (ms, monotonic clock). */
  private readonly lastActive = new Map<P, number>();
  private readonly timer: NodeJS.Timeout | undefined;

  /** `timeoutMs` of 0 turns the sweep off: peers are not even tracked. */
  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: (peer: P) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (timeoutMs > 0) {
      this.timer = setInterval(() => this.sweep(), idleSweepInterval(timeoutMs));
      this.timer.unref();
    }
  }

  get enabled(): boolean {
    return this.timeoutMs > 0;
  }

  /** Starts tracking `peer`, as if it had just sent a message. */
  add(peer: P, at: number = this.now()): void {
    if (this.timeoutMs > 0) this.lastActive.set(peer, at);
  }

  /** Records activity of a tracked peer; one already idle-closed stays untracked. */
  touch(peer: P, at: number = this.now()): void {
    if (this.lastActive.has(peer)) this.lastActive.set(peer, at);
  }

  delete(peer: P): void {
    this.lastActive.delete(peer);
  }

  /** One pass; public so that tests can drive it with their own clock. */
  sweep(now: number = this.now()): void {
    for (const [peer, at] of this.lastActive) {
      if (now - at < this.timeoutMs) continue;
      // Untracked first: onIdle starts a close, and a closing peer is never idle-closed twice.
      this.lastActive.delete(peer);
      this.onIdle(peer);
    }
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.lastActive.clear();
  }
}

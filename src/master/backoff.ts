/**
 * Restart delays: `initial · 2^(crashes-1)`, capped at `max`. A process that
 * stayed up for `stableAfter` ms before it crashed starts the series anew.
 */
export class Backoff {
  private crashes = 0;

  constructor(
    private readonly initial: number,
    private readonly max: number,
    private readonly stableAfter = 10_000,
  ) {}

  /** Records a crash of a process that ran `uptime` ms; returns the delay before restarting it. */
  next(uptime: number): number {
    if (uptime >= this.stableAfter) this.crashes = 0;
    this.crashes++;
    return Math.min(this.max, this.initial * 2 ** Math.min(this.crashes - 1, 30));
  }

  get consecutiveCrashes(): number {
    return this.crashes;
  }
}

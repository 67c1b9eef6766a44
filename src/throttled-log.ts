/**
 * A warning that a peer can trigger once per message (a service addressing
 * foreign clients, malformed link lines) must not flood the logs: the first
 * occurrence is logged at once, later ones within `intervalMs` are only
 * counted, and the next one after the interval is logged with how many were
 * suppressed meanwhile. Nothing is timed: a warning that stops recurring costs
 * no timer.
 */
import type { Logger } from './logger';

/** Default interval between two log lines of one throttled warning. */
export const DEFAULT_WARNING_INTERVAL_MS = 10_000;

export class ThrottledWarning {
  private lastLoggedAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly intervalMs: number = DEFAULT_WARNING_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `fields` with the message unless one was logged less than `intervalMs` ago; then counts it. */
  warn(fields: Record<string, unknown> = {}): void {
    const now = this.now();
    if (now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.lastLoggedAt = now;
    if (this.suppressed > 0) {
      this.log.warn({ ...fields, suppressed: this.suppressed }, this.message);
      this.suppressed = 0;
    } else {
      this.log.warn(fields, this.message);
    }
  }
}

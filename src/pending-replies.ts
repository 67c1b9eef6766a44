/**
 * Requests waiting for a reply from another process, paired by sequence
 * number, each with a timeout: the one request/reply primitive (node's
 * cluster pairs by `seq` in one helper the same way). Its users: a worker's
 * HTTP requests to services and its health and metrics queries to the master
 * (`worker/http-routes.ts`), and the master's metrics requests to every
 * process (`master/cluster-queries.ts`). Whatever happens, each request
 * settles exactly once: with the reply, on timeout, or when everything is
 * cancelled; a reply that comes later is refused by `settle()`.
 */
export interface PendingHandlers<T> {
  readonly onReply: (reply: T) => void;
  readonly onTimeout: () => void;
  /** Called instead of `onTimeout` when every request is cancelled, with the reason `cancelAll` was given. */
  readonly onCancel?: (reason: string) => void;
}

interface Entry<T> {
  readonly handlers: PendingHandlers<T>;
  /** When it times out (performance.now() ms). */
  readonly deadline: number;
  /** Its own timer, when its deadline is earlier than one added before it (see the class comment); else the shared one covers it. */
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * Pending requests of one kind, each settled once through its `PendingHandlers`.
 *
 * Deadlines share one timer: requests mostly come with the same timeout, so
 * their deadlines grow in the order they were added, and one timer armed for
 * the oldest waiting request covers them all — when it fires, every request
 * past its deadline times out, and it is armed again for the next. A
 * `setTimeout` and a `clearTimeout` per request were a measurable part of a
 * worker's HTTP request (issue 17). A request whose deadline is earlier than
 * that of one added before it (a shorter timeout) gets a timer of its own,
 * so every request still times out at its own deadline.
 */
export class PendingReplies<T> {
  private sequence = 0;
  private readonly pending = new Map<number, Entry<T>>();
  /**
   * The shared timer, armed for `armedFor`: the oldest deadline it covers.
   * When the last request settles it is left armed but unref'd (it fires
   * once more, finds nothing and stops), since clearing it and setting it
   * again for the next request cost what a timer per request did whenever
   * the table emptied between batches.
   */
  private sweepTimer: NodeJS.Timeout | undefined;
  private armedFor = 0;
  private sweepRefed = false;
  /** The latest deadline the shared timer covers: a later one joins it in order. */
  private lastShared = -Infinity;
  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    // Timers fire on the loop's clock, which may be a fraction of a ms behind this one: within 1 ms is due.
    const now = performance.now() + 1;
    for (const [seq, entry] of this.pending) {
      if (entry.timer !== undefined) continue;
      if (entry.deadline > now) return this.arm(entry.deadline);
      this.pending.delete(seq);
      entry.handlers.onTimeout();
    }
    this.lastShared = -Infinity;
  };

  get size(): number {
    return this.pending.size;
  }

  /** Registers a request; returns its sequence number. */
  add(timeoutMs: number, handlers: PendingHandlers<T>): number {
    const seq = ++this.sequence;
    const deadline = performance.now() + timeoutMs;
    if (deadline < this.lastShared) {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        handlers.onTimeout();
      }, timeoutMs);
      this.pending.set(seq, { handlers, deadline, timer });
      return seq;
    }
    this.lastShared = deadline;
    this.pending.set(seq, { handlers, deadline, timer: undefined });
    // Left armed for a later deadline (the table emptied, then a shorter timeout came): armed again for this one.
    if (this.sweepTimer === undefined || this.armedFor > deadline) this.arm(deadline);
    else if (!this.sweepRefed) {
      this.sweepRefed = true;
      this.sweepTimer.ref();
    }
    return seq;
  }

  /** Delivers a reply; false when the request is unknown or already settled (a late reply). */
  settle(seq: number, reply: T): boolean {
    const entry = this.take(seq);
    if (entry === undefined) return false;
    entry.handlers.onReply(reply);
    return true;
  }

  /** Drops a request without settling it (its caller went away). */
  forget(seq: number): void {
    this.take(seq);
  }

  /** Settles one pending request now, through `onCancel` (or `onTimeout`); false when it is unknown or settled. */
  cancel(seq: number, reason = 'cancelled'): boolean {
    const entry = this.take(seq);
    if (entry === undefined) return false;
    if (entry.handlers.onCancel === undefined) entry.handlers.onTimeout();
    else entry.handlers.onCancel(reason);
    return true;
  }

  /** Settles every pending request now, through `onCancel` (or `onTimeout` when it has none); the shared timer stops. */
  cancelAll(reason = 'cancelled'): void {
    for (const [seq, entry] of this.pending) {
      this.take(seq);
      if (entry.handlers.onCancel === undefined) entry.handlers.onTimeout();
      else entry.handlers.onCancel(reason);
    }
    if (this.pending.size === 0) {
      clearTimeout(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  /** Removes a request, with its own timer; the shared timer stops once nothing it covers waits. */
  private take(seq: number): Entry<T> | undefined {
    const entry = this.pending.get(seq);
    if (entry === undefined) return undefined;
    this.pending.delete(seq);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (this.pending.size === 0) this.idle();
    return entry;
  }

  private arm(deadline: number): void {
    // A handler run by the sweep may have added a request (and armed the timer) meanwhile: one timer, never two.
    clearTimeout(this.sweepTimer);
    this.armedFor = deadline;
    this.sweepRefed = true;
    this.sweepTimer = setTimeout(this.sweep, Math.max(0, deadline - performance.now()));
  }

  /** Nothing waits: the timer no longer keeps the process alive, and the next deadline starts a new order. */
  private idle(): void {
    this.lastShared = -Infinity;
    if (this.sweepTimer !== undefined && this.sweepRefed) {
      this.sweepRefed = false;
      this.sweepTimer.unref();
    }
  }
}

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

/** Pending requests of one kind, each settled once through its `PendingHandlers`. */
export class PendingReplies<T> {
  private sequence = 0;
  private readonly pending = new Map<number, { handlers: PendingHandlers<T>; timer: NodeJS.Timeout }>();

  get size(): number {
    return this.pending.size;
  }

  /** Registers a request; returns its sequence number. */
  add(timeoutMs: number, handlers: PendingHandlers<T>): number {
    const seq = ++this.sequence;
    const timer = setTimeout(() => {
      this.pending.delete(seq);
      handlers.onTimeout();
    }, timeoutMs);
    this.pending.set(seq, { handlers, timer });
    return seq;
  }

  /** Delivers a reply; false when the request is unknown or already settled (a late reply). */
  settle(seq: number, reply: T): boolean {
    const entry = this.pending.get(seq);
    if (entry === undefined) return false;
    this.pending.delete(seq);
    clearTimeout(entry.timer);
    entry.handlers.onReply(reply);
    return true;
  }

  /** Drops a request without settling it (its caller went away). */
  forget(seq: number): void {
    const entry = this.pending.get(seq);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.pending.delete(seq);
  }

  /** Settles one pending request now, through `onCancel` (or `onTimeout`); false when it is unknown or settled. */
  cancel(seq: number, reason = 'cancelled'): boolean {
    const entry = this.pending.get(seq);
    if (entry === undefined) return false;
    clearTimeout(entry.timer);
    this.pending.delete(seq);
    if (entry.handlers.onCancel === undefined) entry.handlers.onTimeout();
    else entry.handlers.onCancel(reason);
    return true;
  }

  /** Settles every pending request now, through `onCancel` (or `onTimeout` when it has none). */
  cancelAll(reason = 'cancelled'): void {
    for (const [seq, entry] of this.pending) {
      clearTimeout(entry.timer);
      this.pending.delete(seq);
      if (entry.handlers.onCancel === undefined) entry.handlers.onTimeout();
      else entry.handlers.onCancel(reason);
    }
  }
}

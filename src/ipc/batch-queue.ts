/**
 * A bounded send queue for one IPC peer. Messages pushed within one turn of the
 * event loop leave in one write (a JSON array). When the channel reports
 * backpressure (`send()` returned false, which Node does once about 128 KiB are
 * waiting), the queue stops writing until that write's callback fires, and
 * holds what arrives meanwhile up to its bound. Past the bound `push()` refuses
 * the message: the caller applies the policy (close the client, tell the
 * sender), so nothing is dropped silently here.
 *
 * With `coalesceMs`, a push marked `coalesce` (a client's connect or close,
 * which arrive one per turn during a storm) that follows another such push
 * within `coalesceMs` waits up to `coalesceMs` for company instead of leaving
 * at the end of its turn: a storm of connects then costs one write (and one
 * wakeup of the peer, one ack back) per window instead of one per connect. A
 * lone one still leaves at the end of its turn, and any push not so marked
 * (a client message) brings everything queued along at the end of its turn.
 */

/** The part of `process`, a `ChildProcess` or a cluster `Worker` the queue uses. */
export interface IpcEndpoint {
  send(message: unknown, callback: (error: Error | null) => void): boolean;
  readonly connected: boolean;
}

export interface BatchQueueOptions {
  /** Most messages held while the channel is busy. */
  readonly maxMessages: number;
  /** Most payload bytes held while the channel is busy. */
  readonly maxBytes: number;
  /** Most messages written in one batch. */
  readonly maxBatch?: number;
  /** Most payload bytes written in one batch (one message may exceed it alone). */
  readonly maxBatchBytes?: number;
  /** Called once per failed write (channel closed or broken). */
  readonly onError?: (error: Error) => void;
  /**
   * How long a `coalesce` push may wait for others when another came less than
   * this many ms before it (default 0: never waits). See the class comment.
   */
  readonly coalesceMs?: number;
}

const DEFAULT_MAX_BATCH = 4096;
/** Keeps each write (an IPC message, a link line) to a size the reader parses in one go without strain. */
const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

export class BatchQueue<M> {
  private items: M[] = [];
  private sizes: number[] = [];
  private queuedBytes = 0;
  private scheduled: NodeJS.Immediate | undefined;
  /** A coalescing wait (`coalesceMs`) in place of `scheduled`. */
  private coalesceTimer: NodeJS.Timeout | undefined;
  /** When the last `coalesce` push came (performance.now() ms); read only by such pushes. */
  private lastCoalescePush = -Infinity;
  private waitingForDrain = false;
  private closed = false;
  private writesInFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly coalesceMs: number;
  private writeCount = 0;
  private blockingWrite = 0;
  private readonly flushNow = (): void => {
    this.scheduled = undefined;
    this.flush();
  };
  private readonly flushCoalesced = (): void => {
    this.coalesceTimer = undefined;
    this.flush();
  };

  /** Messages refused because the queue was full, since creation. */
  dropped = 0;

  constructor(
    private readonly endpoint: IpcEndpoint,
    private readonly options: BatchQueueOptions,
  ) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.coalesceMs = options.coalesceMs ?? 0;
  }

  get depth(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Whether a message of `size` bytes would be accepted now. */
  hasRoom(size: number): boolean {
    return this.items.length < this.options.maxMessages && this.queuedBytes + size <= this.options.maxBytes;
  }

  /**
   * Queues `message` for the next write. Returns false, and keeps nothing, when
   * the queue is at its bound or closed. `mustKeep` skips the bound: for the
   * few control messages (a client's close) whose loss would corrupt state and
   * whose number is bounded elsewhere (by the number of connections).
   * `coalesce` lets it wait for others (`coalesceMs`, see the class comment).
   */
  push(message: M, size: number, mustKeep = false, coalesce = false): boolean {
    if (this.closed || (!mustKeep && !this.hasRoom(size))) {
      this.dropped++;
      return false;
    }
    this.items.push(message);
    this.sizes.push(size);
    this.queuedBytes += size;
    if (this.scheduled !== undefined || this.waitingForDrain) return true;
    if (coalesce && this.coalesceMs > 0) {
      const now = performance.now();
      const burst = now - this.lastCoalescePush < this.coalesceMs;
      this.lastCoalescePush = now;
      if (this.coalesceTimer !== undefined) return true;
      if (burst) {
        this.coalesceTimer = setTimeout(this.flushCoalesced, this.coalesceMs);
        return true;
      }
    } else if (this.coalesceTimer !== undefined) {
      // Something that may not wait: what waited leaves with it.
      clearTimeout(this.coalesceTimer);
      this.coalesceTimer = undefined;
    }
    this.scheduled = setImmediate(this.flushNow);
    return true;
  }

  /** Writes what is queued now, as far as the channel takes it. */
  flush(): void {
    if (this.coalesceTimer !== undefined) {
      clearTimeout(this.coalesceTimer);
      this.coalesceTimer = undefined;
    }
    while (this.items.length > 0 && !this.waitingForDrain && !this.closed) {
      if (!this.endpoint.connected) {
        this.fail(new Error('IPC channel is closed'));
        return;
      }
      let batch: M[];
      if (this.items.length <= this.maxBatch && this.queuedBytes <= this.maxBatchBytes) {
        // The usual case: the whole queue goes as it is, no copy and no size sum.
        batch = this.items;
        this.items = [];
        this.sizes = [];
        this.queuedBytes = 0;
      } else {
        // At least one message, then as many as fit both bounds.
        let count = 1;
        let bytes = this.sizes[0] as number;
        while (count < this.items.length && count < this.maxBatch && bytes + (this.sizes[count] as number) <= this.maxBatchBytes) {
          bytes += this.sizes[count] as number;
          count++;
        }
        batch = this.items.slice(0, count);
        this.items = this.items.slice(count);
        this.sizes = this.sizes.slice(count);
        this.queuedBytes -= bytes;
      }
      let accepted: boolean;
      const write = ++this.writeCount;
      try {
        this.writesInFlight++;
        accepted = this.endpoint.send(batch, (error: Error | null) => this.onWritten(error, write));
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      if (!accepted) {
        this.waitingForDrain = true;
        this.blockingWrite = write;
      }
    }
  }

  /** Resolves once everything queued has been written (or the queue closed). */
  drained(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Drops everything queued and refuses further pushes. */
  close(): void {
    this.closed = true;
    this.items = [];
    this.sizes = [];
    this.queuedBytes = 0;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    clearTimeout(this.coalesceTimer);
    this.coalesceTimer = undefined;
    this.notifyDrained();
  }

  private isDrained(): boolean {
    return this.closed || (this.items.length === 0 && this.writesInFlight === 0);
  }

  private notifyDrained(): void {
    if (this.drainWaiters.length === 0 || !this.isDrained()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private onWritten(error: Error | null, write: number): void {
    this.writesInFlight--;
    if (error) {
      this.fail(error);
      return;
    }
    // Only the write that reported backpressure lifts the pause: earlier writes completing says little.
    if (this.waitingForDrain && write >= this.blockingWrite) {
      this.waitingForDrain = false;
      if (this.items.length > 0 && this.scheduled === undefined) {
        this.scheduled = setImmediate(this.flushNow);
      }
    }
    this.notifyDrained();
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.close();
    this.options.onError?.(error);
  }
}

/**
 * One forked process as the master sees it: its lifecycle, its bounded send
 * queue and a graceful stop that ends in a SIGKILL of exactly this process.
 */
import type { IpcLimits } from '../child-env';
import { BatchQueue, type IpcEndpoint } from '../ipc/batch-queue';
import type { Logger } from '../logger';
import { ThrottledWarning } from '../throttled-log';
import { approximateSize, readBatch, type AnyMessage } from '../protocol';

export type ChildState = 'starting' | 'online' | 'stopping' | 'dead';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildHooks<Incoming> {
  readonly guard: (value: unknown) => value is Incoming;
  readonly onMessage: (message: Incoming) => void;
  readonly onExit: (exit: ChildExit) => void;
}

/**
 * The part of a `ChildProcess` (or a cluster worker's `process`) the master
 * uses: the seam where unit tests put a fake.
 */
export interface ChildHandle extends IpcEndpoint {
  readonly pid?: number | undefined;
  kill(signal?: NodeJS.Signals): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
}

export class Child<Outgoing extends AnyMessage, Incoming> {
  readonly startedAt = Date.now();
  readonly exited: Promise<ChildExit>;
  private currentState: ChildState = 'starting';
  private rejected = 0;
  private readonly outbox: BatchQueue<Outgoing>;
  private exitInfo: ChildExit | undefined;

  constructor(
    private readonly process: ChildHandle,
    /** Names this process instance for the master's life: `worker-<id>`, `service-<name>.<n>`. */
    readonly instance: string,
    limits: IpcLimits,
    private readonly log: Logger,
    hooks: ChildHooks<Incoming>,
  ) {
    this.outbox = new BatchQueue<Outgoing>(process, {
      maxMessages: limits.maxMessages,
      maxBytes: limits.maxBytes,
      onError: (error) => log.debug({ err: error, pid: process.pid }, 'IPC write to child failed'),
    });
    // A child can send a malformed batch per message: warn at most once per interval.
    const malformed = new ThrottledWarning(log, 'malformed IPC messages from child ignored');
    process.on('message', (batch: unknown) => {
      const rejected = readBatch(batch, hooks.guard, hooks.onMessage);
      if (rejected > 0) {
        this.rejected += rejected;
        malformed.warn({ pid: process.pid, rejected });
      }
    });
    // An 'error' (failed spawn, failed kill) must not crash the master; 'exit' follows or the stop deadline kills.
    process.on('error', (error) => log.error({ err: error, pid: process.pid }, 'child process error'));
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': 'exit' can come before the last IPC messages are read.
      process.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.currentState = 'dead';
        this.exitInfo = { code, signal };
        this.outbox.close();
        hooks.onExit(this.exitInfo);
        resolve(this.exitInfo);
      });
    });
  }

  /** `starting → online → stopping → dead`; `dead` once the process has exited and its channel closed. */
  get state(): ChildState {
    return this.currentState;
  }

  /** Malformed IPC messages received from this child. */
  get rejectedMessages(): number {
    return this.rejected;
  }

  /** The child reported that it runs (a worker listens, a service's `onStart` resolved). */
  markOnline(): void {
    if (this.currentState === 'starting') this.currentState = 'online';
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get isAlive(): boolean {
    return this.exitInfo === undefined;
  }

  /** IPC queue depth, for stats. */
  get queueDepth(): number {
    return this.outbox.depth;
  }

  get queueDropped(): number {
    return this.outbox.dropped;
  }

  /** Queues a message; false when the queue is full or the child is gone. */
  deliver(message: Outgoing, mustKeep = false): boolean {
    return this.outbox.push(message, approximateSize(message), mustKeep);
  }

  /**
   * Sends `stopMessage`, waits until the process exits or `deadline` (epoch ms)
   * passes, then SIGKILLs it. Resolves once it is gone.
   */
  async stop(stopMessage: Outgoing, deadline: number): Promise<ChildExit> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    this.currentState = 'stopping';
    this.deliver(stopMessage, true);
    const remaining = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), remaining);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.log.warn({ pid: this.pid }, 'process did not stop in time; sending SIGKILL');
      this.kill('SIGKILL');
    }
    return this.exited;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exitInfo !== undefined) return;
    try {
      this.process.kill(signal);
    } catch (error) {
      this.log.debug({ err: error, pid: this.pid }, 'kill failed');
    }
  }
}

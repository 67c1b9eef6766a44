/**
 * One forked process as the master sees it: its lifecycle, its bounded send
 * queue and a graceful stop that ends in a SIGKILL of exactly this process.
 */
import type { ChildProcess } from 'node:child_process';
import type { IpcLimits } from '../child-env';
import { BatchQueue, type IpcEndpoint } from '../ipc/batch-queue';
import type { Logger } from '../logger';
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

export class Child<Outgoing extends AnyMessage, Incoming> {
  state: ChildState = 'starting';
  readonly startedAt = Date.now();
  readonly exited: Promise<ChildExit>;
  /** Malformed IPC messages received from this child. */
  rejectedMessages = 0;
  private readonly outbox: BatchQueue<Outgoing>;
  private exitInfo: ChildExit | undefined;

  constructor(
    readonly process: ChildProcess,
    limits: IpcLimits,
    private readonly log: Logger,
    hooks: ChildHooks<Incoming>,
  ) {
    this.outbox = new BatchQueue<Outgoing>(process as unknown as IpcEndpoint, {
      maxMessages: limits.maxMessages,
      maxBytes: limits.maxBytes,
      onError: (error) => log.debug({ err: error, pid: process.pid }, 'IPC write to child failed'),
    });
    process.on('message', (batch: unknown) => {
      const rejected = readBatch(batch, hooks.guard, hooks.onMessage);
      if (rejected > 0) {
        this.rejectedMessages += rejected;
        log.warn({ pid: process.pid, rejected }, 'malformed IPC messages from child ignored');
      }
    });
    // An 'error' (failed spawn, failed kill) must not crash the master; 'exit' follows or the stop deadline kills.
    process.on('error', (error) => log.error({ err: error, pid: process.pid }, 'child process error'));
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': 'exit' can come before the last IPC messages are read.
      process.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.state = 'dead';
        this.exitInfo = { code, signal };
        this.outbox.close();
        hooks.onExit(this.exitInfo);
        resolve(this.exitInfo);
      });
    });
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
    this.state = 'stopping';
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

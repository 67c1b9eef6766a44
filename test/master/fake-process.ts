/**
 * A forked process as the master's modules see it, with nothing forked: an
 * EventEmitter with `send`, `kill`, `pid` and `connected`, the parts of a
 * `ChildProcess` that `Child` uses. What the master sends is recorded; what
 * the child would send is pushed with `reply()`; `exit()` ends it as node
 * would ('close' after the channel has gone).
 */
import type { ForkOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { ForkProcess } from '../../src/master/service-slot';
import type { ForkWorker } from '../../src/master/worker-pool';

let nextPid = 50_000;

export class FakeProcess extends EventEmitter {
  readonly pid = nextPid++;
  connected = true;
  /** Every message the master sent, in order (batches flattened). */
  readonly sent: Array<Record<string, unknown>> = [];
  /** Signals the master sent. */
  readonly signals: NodeJS.Signals[] = [];
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private ended = false;

  constructor(
    /** What a SIGTERM or SIGKILL does: exit at once (default), or nothing (a stuck process; SIGKILL always ends it). */
    private readonly onSignal: 'exit' | 'ignore' = 'exit',
  ) {
    super();
  }

  send(batch: unknown, callback?: (error: Error | null) => void): boolean {
    if (!this.connected) {
      setImmediate(() => callback?.(new Error('channel closed')));
      return false;
    }
    for (const message of batch as Array<Record<string, unknown>>) this.sent.push(message);
    this.emit('sent');
    setImmediate(() => callback?.(null));
    return true;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.signals.push(signal);
    if (signal === 'SIGKILL' || this.onSignal === 'exit') this.exit(null, signal);
    return true;
  }

  /** The child sends these messages to the master, in one batch. */
  reply(...messages: Array<Record<string, unknown>>): void {
    this.emit('message', messages);
  }

  /** The process ends: 'close' on the next turn, as node reports it. */
  exit(code: number | null = 0, signal: NodeJS.Signals | null = null): void {
    if (this.ended) return;
    this.ended = true;
    this.connected = false;
    this.exitCode = code;
    this.signalCode = signal;
    setImmediate(() => this.emit('close', code, signal));
  }

  /** Resolves with the first message of `type` the master sent (from the start). */
  received(type: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const check = (): void => {
        const found = this.sent.find((message) => message.type === type);
        if (found === undefined) return;
        this.off('sent', check);
        resolve(found);
      };
      this.on('sent', check);
      check();
    });
  }
}

/** A `fork` for ServiceSlot that records each process it "starts". */
export class FakeServiceForker {
  readonly processes: FakeProcess[] = [];
  /** What each fork was called with. */
  readonly calls: Array<{ modulePath: string; options: ForkOptions }> = [];
  private waiters: Array<{ count: number; resolve: (process: FakeProcess) => void }> = [];
  stuck = false;

  readonly fork: ForkProcess = (modulePath, _args, options) => {
    const process = new FakeProcess(this.stuck ? 'ignore' : 'exit');
    this.processes.push(process);
    this.calls.push({ modulePath, options });
    for (const waiter of this.waiters.filter((w) => this.processes.length >= w.count)) waiter.resolve(this.processes[waiter.count - 1] as FakeProcess);
    this.waiters = this.waiters.filter((w) => this.processes.length < w.count);
    return process;
  };

  /** Resolves with the `count`-th process forked (1-based), once it is. */
  forked(count: number): Promise<FakeProcess> {
    const existing = this.processes[count - 1];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  get last(): FakeProcess {
    return this.processes.at(-1) as FakeProcess;
  }
}

/** A cluster fork for WorkerPool: ids count up from 1, as node:cluster's do. */
export class FakeWorkerForker {
  readonly workers: Array<{ id: number; process: FakeProcess; env: Readonly<Record<string, string>> }> = [];
  private waiters: Array<{ count: number; resolve: (process: FakeProcess) => void }> = [];
  /** Log of what happened, for ordering checks. */
  readonly events: string[] = [];

  readonly fork: ForkWorker = (env) => {
    const process = new FakeProcess();
    const id = this.workers.length + 1;
    this.workers.push({ id, process, env });
    this.events.push(`fork ${id}`);
    process.on('sent', () => {
      const last = process.sent.at(-1);
      if (last?.type === 'stop') this.events.push(`stop ${id}`);
    });
    process.on('close', () => this.events.push(`exit ${id}`));
    for (const waiter of this.waiters.filter((w) => this.workers.length >= w.count)) waiter.resolve(this.workers[waiter.count - 1]?.process as FakeProcess);
    this.waiters = this.waiters.filter((w) => this.workers.length < w.count);
    const emitter = new EventEmitter();
    return { id, process, on: (event, listener) => emitter.on(event, listener) };
  };

  /** Resolves with the process of the `count`-th worker forked (1-based), once it is. */
  forked(count: number): Promise<FakeProcess> {
    const existing = this.workers[count - 1]?.process;
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** The worker `id` listens: it says so, as a real one does. */
  ready(id: number, port = 1234): void {
    this.events.push(`ready ${id}`);
    this.workers[id - 1]?.process.reply({ type: 'ready', port });
  }
}

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

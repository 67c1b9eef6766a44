/**
 * Starting and stopping the servers under test, each in a process tree of its
 * own so /proc can charge it for exactly its CPU time and memory.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { execArgvFor, isTypeScriptPath, TS_NODE_ENV } from 'switchyard/typescript-support';
import { treeCpuSeconds, treeRssBytes } from './proc-stats';

export type TargetKind = 'switchyard' | 'ws-echo' | 'ws-fanout' | 'http-echo' | 'socketio-echo' | 'socketio-fanout';

const extension = path.extname(__filename);
const SOCKETIO_CLUSTER = path.join(__dirname, 'baselines', `socketio-cluster${extension}`);
const ENTRIES: Readonly<Record<TargetKind, string>> = {
  switchyard: path.join(__dirname, `switchyard-target${extension}`),
  'ws-echo': path.join(__dirname, 'baselines', `ws-echo${extension}`),
  'ws-fanout': path.join(__dirname, 'baselines', `ws-fanout${extension}`),
  'http-echo': path.join(__dirname, 'baselines', `http-echo${extension}`),
  'socketio-echo': SOCKETIO_CLUSTER,
  'socketio-fanout': SOCKETIO_CLUSTER,
};
/** Environment a kind needs beyond the worker count. */
const KIND_ENV: Readonly<Partial<Record<TargetKind, Readonly<Record<string, string>>>>> = {
  'socketio-echo': { SOCKETIO_BENCH_MODE: 'echo' },
  'socketio-fanout': { SOCKETIO_BENCH_MODE: 'fanout' },
};

/** Targets spoken to with Socket.IO framing (`--protocol socketio` of the generator). */
export function isSocketIo(kind: TargetKind): boolean {
  return kind === 'socketio-echo' || kind === 'socketio-fanout';
}

/** What an A/B run may change about a target besides its environment. */
export interface TargetVariant {
  /** Entry script instead of the kind's own (another checkout's `packages/bench/dist/suite/switchyard-target.js`). */
  readonly entry?: string;
  /** Node binary to run it with instead of this process's. */
  readonly execPath?: string;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export class Target {
  private constructor(readonly kind: TargetKind, readonly port: number, private readonly child: ChildProcess) {}

  get pid(): number {
    return this.child.pid as number;
  }

  /** CPU seconds used so far by the whole process tree. */
  cpuSeconds(): number {
    return treeCpuSeconds(this.pid);
  }

  rssBytes(): number {
    return treeRssBytes(this.pid);
  }

  /**
   * Starts a target; `workers` applies to Switchyard and the Socket.IO cluster; `extraEnv` is added to its environment (A/B runs);
   * `variant` replaces the kind's entry script (an A/B run against another checkout's build, `ab.ts --a-root`) or the Node binary (`--a-node`).
   */
  static start(kind: TargetKind, workers = 2, extraEnv: Readonly<Record<string, string>> = {}, variant: TargetVariant = {}): Promise<Target> {
    const entry = variant.entry ?? ENTRIES[kind];
    const env = { ...process.env, SWITCHYARD_BENCH_WORKERS: String(workers), ...(isTypeScriptPath(entry) ? TS_NODE_ENV : {}), ...KIND_ENV[kind], ...extraEnv };
    const child = fork(entry, [], { execArgv: execArgvFor(entry), env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(variant.execPath === undefined ? {} : { execPath: variant.execPath }) });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${kind} did not listen within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.once('message', (message: unknown) => {
        const port = (message as { type?: unknown; port?: unknown }).port;
        if ((message as { type?: unknown }).type !== 'listening' || typeof port !== 'number') return;
        clearTimeout(timer);
        resolve(new Target(kind, port, child));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${kind} exited (${signal ?? code}) before listening`));
      });
    });
  }

  /** SIGKILL of exactly this process (the `--nats` failure timings: a node's master dies); resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM, then SIGKILL of exactly this process after a grace period. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS); });
    if ((await Promise.race([exited, late])) === 'late') {
      this.child.kill('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
  }
}

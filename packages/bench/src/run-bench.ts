/**
 * Runs a bench over one or more generator processes and merges what they
 * measured. One shard runs in this process; more are forked children of
 * child.ts, started together once all of them have connected.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { execArgvFor, isTypeScriptPath, TS_NODE_ENV } from 'switchyard/typescript-support';
import { ChaosController } from './chaos/controller';
import { localControl, type WindowPhase } from './control';
import type { BenchOptions } from './options';
import { isChildToParent, type ParentToChild } from './protocol';
import { mergeResults, type BenchResult, type ShardResult } from './result';
import { runShard } from './run-shard';
import { planShards, type Shard } from './source-address';

const CHILD_ENTRY = path.join(__dirname, `child${path.extname(__filename)}`);

export interface BenchHooks {
  /** The cumulative count over all processes, about twice a second. */
  readonly onProgress?: (count: number) => void;
  /** connect: every connection is open or failed; the hold has begun. */
  readonly onHeld?: () => void;
  /** echo, fanout: the measured window starts or ends (as seen by the first generator process). */
  readonly onWindow?: (phase: WindowPhase) => void;
}

/** Tells the shards which chaos event is under way. */
interface ChaosChannel {
  index: number;
  /** Forked shards: set by runForked to pass each event on. */
  forward?: (index: number) => void;
  /** The controller's `finished`: passed on to forked shards. */
  finished?: Promise<void>;
}

/**
 * Runs `options` and resolves with the merged result; rejects when a generator
 * process fails, or under `--chaos` when the server's `/healthz` does not list
 * what the plan acts on (checked before any load).
 */
export async function runBench(options: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResult> {
  const shards = planShards(options.connections, options.procs, options.maxPerProc);
  const channel: ChaosChannel = { index: 0 };
  const plan = options.chaos;
  const chaos = plan === undefined ? undefined : new ChaosController(plan, (index) => {
    channel.index = index;
    channel.forward?.(index);
  });
  if (chaos !== undefined) channel.finished = chaos.finished;
  await chaos?.preflight();
  const windowHooks: BenchHooks = chaos === undefined ? hooks : {
    ...hooks,
    onWindow: (phase) => {
      if (phase === 'start') chaos.start(options.duration * 1000);
      hooks.onWindow?.(phase);
    },
  };
  let merged: BenchResult;
  let events;
  try {
    merged = mergeResults(shards.length === 1
      ? [await runShard(options, shards[0] as Shard, localControl(hooks.onProgress, hooks.onHeld, windowHooks.onWindow, () => channel.index, () => chaos?.finished ?? Promise.resolve()))]
      : await runForked(options, shards, windowHooks, channel));
  } finally {
    // Stops the schedule whatever happened; an event under way is waited for (bounded by its recovery timeout).
    events = await chaos?.stop();
  }
  if (events === undefined || merged.chaos === undefined) return merged;
  return { ...merged, chaos: { ...merged.chaos, events } };
}

function runForked(options: BenchOptions, shards: readonly Shard[], hooks: BenchHooks, channel: ChaosChannel): Promise<ShardResult[]> {
  return new Promise((resolve, reject) => {
    const env = isTypeScriptPath(CHILD_ENTRY) ? { ...process.env, ...TS_NODE_ENV } : process.env;
    const children: ChildProcess[] = [];
    const results: Array<ShardResult | undefined> = shards.map(() => undefined);
    const counts = shards.map(() => 0);
    let ready = 0, held = 0, settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      if (error !== undefined) {
        for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
        reject(error);
      } else {
        resolve(results as ShardResult[]);
      }
    };
    const broadcast = (message: ParentToChild): void => {
      for (const child of children) if (child.connected) child.send(message);
    };
    channel.forward = (index) => broadcast({ type: 'chaos', index });
    void channel.finished?.then(() => broadcast({ type: 'chaos-done' }));
    shards.forEach((shard, index) => {
      const child = fork(CHILD_ENTRY, [], { execArgv: execArgvFor(CHILD_ENTRY), env, serialization: 'json' });
      children.push(child);
      child.on('message', (message: unknown) => {
        if (!isChildToParent(message)) return;
        switch (message.type) {
          case 'ready':
            if (++ready === shards.length) broadcast({ type: 'go' });
            return;
          case 'held':
            if (++held === shards.length) hooks.onHeld?.();
            return;
          case 'window':
            if (index === 0) hooks.onWindow?.(message.phase);
            return;
          case 'progress':
            counts[index] = message.count;
            hooks.onProgress?.(counts.reduce((sum, value) => sum + value, 0));
            return;
          case 'result':
            results[index] = message.result;
            if (results.every((result) => result !== undefined)) finish();
            return;
          case 'failed':
            finish(new Error(`generator process ${index} failed: ${message.message}`));
            return;
          default: {
            const unreachable: never = message;
            throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
          }
        }
      });
      child.on('error', (error) => finish(error));
      // 'close' comes after the IPC channel is drained, so a result already sent has arrived.
      child.on('close', (code, signal) => {
        if (results[index] === undefined) finish(new Error(`generator process ${index} exited (${signal ?? code}) without a result`));
      });
      child.send({ type: 'run', options, shard } satisfies ParentToChild);
    });
  });
}

/**
 * Entry point of a generator child process (forked by run-bench.ts): runs the
 * shard it is given and reports back. Exits when the parent goes away.
 */
import type { ShardControl } from './control';
import { isParentToChild, type ChildToParent } from './protocol';
import { runShard } from './run-shard';

function send(message: ChildToParent, then?: () => void): void {
  process.send?.(message, undefined, undefined, () => then?.());
}

let go: (() => void) | undefined;
let chaosEvent = 0;
let chaosFinished: (() => void) | undefined;
const chaosDone = new Promise<void>((resolve) => { chaosFinished = resolve; });
const started = new Promise<void>((resolve) => { go = resolve; });

const control: ShardControl = {
  ready: () => {
    send({ type: 'ready' });
    return started;
  },
  held: () => send({ type: 'held' }),
  progress: (count) => send({ type: 'progress', count }),
  window: (phase) => send({ type: 'window', phase }),
  chaosEvent: () => chaosEvent,
  chaosDone: () => chaosDone,
};

process.on('disconnect', () => process.exit(0));
process.on('message', (message: unknown) => {
  if (!isParentToChild(message)) return;
  if (message.type === 'go') return go?.();
  if (message.type === 'chaos') return void (chaosEvent = message.index);
  if (message.type === 'chaos-done') return chaosFinished?.();
  // Disconnect only once the last message is written, so the parent gets it.
  const done = (): void => process.disconnect();
  runShard(message.options, message.shard, control).then(
    (result) => send({ type: 'result', result }, done),
    (error: unknown) => send({ type: 'failed', message: (error as Error).stack ?? String(error) }, done),
  );
});

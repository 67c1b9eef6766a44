/** Runs one shard of a scenario in this process. */
import type { ShardControl } from './control';
import type { BenchOptions } from './options';
import type { ShardResult } from './result';
import { runChaosEcho } from './scenarios/chaos-echo';
import { runConnect } from './scenarios/connect';
import { runEcho } from './scenarios/echo';
import { runFanout } from './scenarios/fanout';
import type { Shard } from './source-address';

export function runShard(options: BenchOptions, shard: Shard, control: ShardControl): Promise<ShardResult> {
  switch (options.scenario) {
    case 'echo':
      return options.chaos === undefined ? runEcho(options, shard, control) : runChaosEcho(options, shard, control);
    case 'fanout':
      return runFanout(options, shard, control);
    case 'connect':
      return runConnect(options, shard, control);
    default: {
      const unreachable: never = options.scenario;
      throw new Error(`unknown scenario ${String(unreachable)}`);
    }
  }
}

/**
 * `@switchyard/bench`: the WebSocket load generator behind `switchyard bench`
 * (the server's CLI loads this package by name) and its library API.
 */
import { isSwitchyardError } from 'switchyard';
import { runBench } from './run-bench';
import { BENCH_HELP, parseBenchArgs } from './options';
import { chaosPassed } from './chaos/report';
import { formatJson, formatResult, ProgressLine } from './report';

export { runBench } from './run-bench';
export type { BenchHooks } from './run-bench';
export { benchOptions, parseBenchArgs, BENCH_HELP } from './options';
export type { BenchOptions, Scenario } from './options';
export type { BenchResult, ChaosCounts } from './result';
export type { DamageCounts } from './chaos/damage';
export type { ChaosEventRecord } from './chaos/controller';
export type { ChaosKind, ChaosPlan } from './chaos/plan';
export { chaosPassed, formatChaos } from './chaos/report';

/**
 * `switchyard bench <argv>`: parses its flags, runs the load and prints the
 * report; resolves with the exit status: 0, 1 when any error was counted (or,
 * under `--chaos`, a message lost, reordered or duplicated unmarked, or an
 * event that did not recover), 2
 * for bad flags (after a one-line reason on stderr, as the CLI prints its own).
 */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseBenchArgs(argv, process.stderr.isTTY === true);
  } catch (error) {
    // Answered here, not by the CLI: the CLI may have loaded another copy of
    // the server package than this one, and its SwitchyardError check is `instanceof`.
    if (!isSwitchyardError(error, 'SY_ERR_INVALID_OPTION')) throw error;
    process.stderr.write(`switchyard: ${error.message}\n`);
    return 2;
  }
  if (command.command === 'help') {
    process.stdout.write(`${BENCH_HELP}\n`);
    return 0;
  }
  const { options } = command;
  const progress = options.progress ? new ProgressLine(options.scenario) : undefined;
  const result = await runBench(options, { onProgress: (count) => progress?.update(count) });
  progress?.done();
  process.stdout.write(`${options.json ? formatJson(options, result) : formatResult(options, result)}\n`);
  const chaosOk = result.chaos === undefined || chaosPassed(result.chaos);
  return result.errorCount === 0 && chaosOk ? 0 : 1;
}

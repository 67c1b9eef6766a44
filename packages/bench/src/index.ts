/** `switchyard bench`: parses its flags, runs the load and prints the report. */
import { runBench } from './fan-out';
import { BENCH_HELP, parseBenchArgs } from './options';
import { formatJson, formatResult, ProgressLine } from './report';

export { runBench } from './fan-out';
export type { BenchHooks } from './fan-out';
export { benchOptions, parseBenchArgs, BENCH_HELP } from './options';
export type { BenchOptions, Scenario } from './options';
export type { BenchResult } from './result';

/** Runs the command; resolves with the exit status (0, or 1 when any error was counted). Throws `SY_ERR_INVALID_OPTION` on bad flags. */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  const command = parseBenchArgs(argv, process.stderr.isTTY === true);
  if (command.command === 'help') {
    process.stdout.write(`${BENCH_HELP}\n`);
    return 0;
  }
  const { options } = command;
  const progress = options.progress ? new ProgressLine(options.scenario) : undefined;
  const result = await runBench(options, { onProgress: (count) => progress?.update(count) });
  progress?.done();
  process.stdout.write(`${options.json ? formatJson(options, result) : formatResult(options, result)}\n`);
  return result.errorCount === 0 ? 0 : 1;
}

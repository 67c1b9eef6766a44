/**
 * `switchyard bench`: the WebSocket load generator is a package of its own
 * (`@switchyard/bench`, packages/bench), not a dependency of the server, so it
 * is looked up only when the command runs, by package name; when it is not
 * installed the command prints a one-line hint and fails.
 */

/** The package that implements `switchyard bench`. */
export const BENCH_PACKAGE = '@switchyard/bench';

/** The hint printed (after `switchyard: `) when the bench package is not installed. */
export const BENCH_MISSING_HINT = `the load generator is a separate package: npm install ${BENCH_PACKAGE}`;

/** What the CLI uses of the bench package. */
export interface BenchModule {
  /** Runs `switchyard bench <argv>`; resolves with the exit status. */
  benchCommand(argv: readonly string[]): Promise<number>;
}

function isBenchModule(value: unknown): value is BenchModule {
  return typeof value === 'object' && value !== null && typeof (value as { benchCommand?: unknown }).benchCommand === 'function';
}

function resolveFrom(request: string, searchFrom: readonly string[]): string | undefined {
  try {
    return require.resolve(request, { paths: [...searchFrom] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * Loads the bench package as Node resolves it from `searchFrom` (default: this
 * module's folder, so the copy installed beside the server); `undefined` when
 * it is not installed. Throws when it is installed but unbuilt or not a bench.
 */
export function loadBench(searchFrom: readonly string[] = [__dirname]): BenchModule | undefined {
  const entry = resolveFrom(BENCH_PACKAGE, searchFrom);
  if (entry === undefined) {
    // Its package.json without its entry module: installed from sources but not built.
    const manifest = resolveFrom(`${BENCH_PACKAGE}/package.json`, searchFrom);
    if (manifest !== undefined) throw new Error(`${BENCH_PACKAGE} at ${manifest} has no built entry point; build it (npm run build --workspace ${BENCH_PACKAGE})`);
    return undefined;
  }
  const loaded: unknown = require(entry);
  if (!isBenchModule(loaded)) throw new Error(`${entry} does not export benchCommand(); is it ${BENCH_PACKAGE}?`);
  return loaded;
}

/**
 * Runs `switchyard bench <argv>` with the bench package found from
 * `searchFrom`; resolves with the exit status, 1 (after the hint on `stderr`)
 * when the package is not installed.
 */
export async function runBenchCommand(
  argv: readonly string[],
  searchFrom: readonly string[] = [__dirname],
  stderr: Pick<NodeJS.WritableStream, 'write'> = process.stderr,
): Promise<number> {
  const bench = loadBench(searchFrom);
  if (bench === undefined) {
    stderr.write(`switchyard: ${BENCH_MISSING_HINT}\n`);
    return 1;
  }
  return bench.benchCommand(argv);
}

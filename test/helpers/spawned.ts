/**
 * A Node process started from sources (through tsx) whose stdout
 * and stderr lines a test waits on: the CLI, or an embedding script.
 * `stopSpawned()` (from afterEach) SIGKILLs whatever a test left running.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { Waiter } from './line-peer';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'src', 'cli.ts');

export interface Spawned {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Resolves with the first stdout line matching `pattern` (already seen or still to come). */
  line(pattern: RegExp, ms?: number): Promise<string>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

function collect(stream: NodeJS.ReadableStream, into: string[], waiter: Waiter): void {
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() as string;
    into.push(...lines);
    waiter.notify();
  });
}

/**
 * Runs `script` (a .ts file) with `args`, in the repository root, with `env` over the test's environment;
 * `execPath` runs it with another Node binary (the Node 24 cases: `SWITCHYARD_TEST_NODE24`).
 */
export function spawnScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, execPath: string = process.execPath): Spawned {
  const child = spawn(execPath, ['--require', require.resolve('tsx/cjs'), script, ...args], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', ...env },
  });
  running.add(child);
  const waiter = new Waiter();
  const stdout: string[] = [];
  const stderr: string[] = [];
  collect(child.stdout, stdout, waiter);
  collect(child.stderr, stderr, waiter);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      waiter.notify();
      resolve(code);
    });
  });
  const line = async (pattern: RegExp, ms = 45000): Promise<string> => {
    await waiter.until(
      // A process killed by a signal has signalCode set and exitCode null.
      () => stdout.some((text) => pattern.test(text)) || child.exitCode !== null || child.signalCode !== null,
      () => `a stdout line matching ${pattern}; stdout: ${stdout.join(' | ').slice(-2000)}; stderr: ${stderr.join(' | ').slice(-2000)}`,
      ms,
    );
    const found = stdout.find((text) => pattern.test(text));
    if (found === undefined) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; stderr: ${stderr.join(' | ').slice(-2000)}`);
    return found;
  };
  return { child, stdout, stderr, exited, line };
}

export function stopSpawned(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

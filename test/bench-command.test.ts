/**
 * `switchyard bench` lives in its own package (@switchyard/bench): the CLI
 * loads it by name when the command runs, and prints a one-line hint when it
 * is not installed. The installed case runs the real CLI against the package
 * the workspace links (built by `npm ci`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_MISSING_HINT, BENCH_PACKAGE, loadBench, runBenchCommand } from '../src/bench-command';
import { parseCli } from '../src/cli-args';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'src', 'cli.ts');
const env = { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' };

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), CLI, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 20000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A folder with nothing installed, or only what `manifest` puts there. */
let empty: string;
beforeEach(() => {
  empty = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-no-bench-'));
});
afterEach(() => {
  fs.rmSync(empty, { recursive: true, force: true });
});

test('the top-level CLI hands bench its own arguments', async () => {
  expect(await parseCli(['bench', 'echo', '-c', '5'])).toEqual({ command: 'bench', argv: ['echo', '-c', '5'] });
});

test('without the bench package: one line naming the package to install, exit status 1', async () => {
  expect(loadBench([empty])).toBeUndefined();
  const written: string[] = [];
  const status = await runBenchCommand(['echo'], [empty], { write: (chunk: string | Uint8Array) => written.push(String(chunk)) > 0 });
  expect(status).toBe(1);
  expect(written).toEqual([`switchyard: ${BENCH_MISSING_HINT}\n`]);
  expect(BENCH_MISSING_HINT).toContain(`npm install ${BENCH_PACKAGE}`);
});

test('a bench package installed but not built is named as such, not reported missing', () => {
  const folder = path.join(empty, 'node_modules', ...BENCH_PACKAGE.split('/'));
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ name: BENCH_PACKAGE, main: 'dist/src/index.js' }));
  expect(() => loadBench([empty])).toThrow(/has no built entry point/);
});

test('with the bench package installed (the workspace), the default lookup finds it', () => {
  expect(typeof loadBench()?.benchCommand).toBe('function');
});

test('switchyard bench --help runs the installed package and exits 0', () => {
  const { status, stdout } = cli(['bench', '--help']);
  expect(status).toBe(0);
  expect(stdout).toMatch(/^Usage: switchyard bench <echo\|fanout\|connect>/);
});

test('switchyard bench with a bad flag exits 2 with a one-line reason', () => {
  const { status, stdout, stderr } = cli(['bench', 'echo', '--connections', 'many']);
  expect(status).toBe(2);
  expect(stdout).toBe('');
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^switchyard: .*connections/);
});

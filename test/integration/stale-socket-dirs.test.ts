/**
 * A process group SIGKILLed as a whole leaves its private socket folder
 * behind (nobody is left to remove it). The next start removes the folders
 * of this kind whose owning master is dead, and leaves the others alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'src', 'cli.ts');
let folder: string;
const children = new Set<ReturnType<typeof spawn>>();

beforeEach(() => {
  // A TMPDIR of this test's own, given to a real CLI process (jest's process.env does not reach os.tmpdir()):
  // the sweep must not meet other tests' folders, and these must not meet theirs.
  folder = mkdtempSync(path.join(tmpdir(), 'sy-stale-'));
});

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  rmSync(folder, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/** A process that stays alive until the test kills it. */
async function livePid(): Promise<number> {
  const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.add(live);
  await new Promise((resolve) => live.once('spawn', resolve));
  return live.pid as number;
}

/** Starts the CLI with `TMPDIR` set to the test's folder; resolves once it listens. */
async function startCli(): Promise<ReturnType<typeof spawn>> {
  const args = ['--require', require.resolve('tsx/cjs'), CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'silent', '--service', `echo=${path.join(ROOT, 'src', 'services', 'examples', 'echo.ts')}`];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', TMPDIR: folder } });
  children.add(child);
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the CLI exited early with ${code}`)));
  });
  return child;
}

function leftBehind(name: string): string {
  const dir = path.join(folder, name);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(path.join(dir, '0.1.sock'), '');
  return dir;
}

test('on start, socket folders of dead masters are removed; those of live processes, and other names, stay', async () => {
  // What a SIGKILLed process group leaves: the folder, and the sockets nobody removed.
  const dead = leftBehind(`switchyard-${await deadPid()}-Ab3dE6`);
  const alive = leftBehind(`switchyard-${await livePid()}-Gh1jK2`);
  // The old naming carries no pid: there is no telling whose it is, so it stays.
  const unnamed = leftBehind('switchyard-Mn0pQ9');
  const other = leftBehind('something-else');
  const cli = await startCli();
  expect(existsSync(dead)).toBe(false);
  expect([alive, unnamed, other].filter((dir) => !existsSync(dir))).toEqual([]);
  // The running master's own folder carries its pid, so that a later start can tell it from a stale one.
  const own = readdirSync(folder).filter((name) => name.startsWith(`switchyard-${cli.pid}-`));
  expect(own).toHaveLength(1);
  const exited = new Promise((resolve) => cli.once('exit', resolve));
  cli.kill('SIGTERM');
  await exited;
  children.delete(cli);
  expect(existsSync(path.join(folder, own[0] as string))).toBe(false);
}, 20000);

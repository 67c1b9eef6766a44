/**
 * A `staticDir` outside the project's folder is served, but the start says so
 * in the log (options.md, `staticDir`): a real CLI start, read from its stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'src', 'cli.ts');
const env = { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' };

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'switchyard-static-'));
  writeFileSync(path.join(folder, 'index.html'), '<p>outside</p>');
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ staticDir: folder, services: { echo: path.join(ROOT, 'src', 'services', 'examples', 'echo.ts') } }));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

test('a staticDir outside cwd is served, and the start warns about it once, naming both folders', async () => {
  const args = ['--require', require.resolve('tsx/cjs'), CLI, 'start', '--config', path.join(folder, 'config.json'), '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stdout = '';
  const listening = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(stdout);
      if (line !== null) resolve(line[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stdout}`)));
  });
  const response = await fetch(`http://127.0.0.1:${listening}/`);
  expect(await response.text()).toBe('<p>outside</p>');
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const warnings = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; staticDir?: string; cwd?: string })
    .filter((line) => line.level === 40 && line.msg.includes('outside cwd'));
  expect(warnings).toEqual([expect.objectContaining({ staticDir: folder, cwd: ROOT })]);
});

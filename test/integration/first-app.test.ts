/**
 * docs/first-app.md, followed as a new user would: every block after a
 * `<!-- file: … -->` marker is written into an empty temp folder, and the
 * blocks after `<!-- run: … -->` are run there as they stand: `npm test` (the
 * guide's service test, through switchyard/testing) and `npx switchyard
 * start`, which must serve the page and the typed chat to a real client.
 * The guide's TypeScript is type-checked too (tsc over its tsconfig.json), and its
 * page is opened in Chromium (where installed) to chat with a Node client.
 *
 * `switchyard` resolves through a symlink, node_modules/switchyard → this
 * repository, so the folder gets this checkout's build (dist/, through
 * package.json `exports`, as an installed package would) with its own
 * dependencies, and no registry is needed: `npm pack` plus an install would
 * fetch every dependency again (network, tens of seconds). What the packed
 * tarball holds is test/package.test.ts's job. zod, tsx, typescript and
 * @types/node — what the guide's `npm install` lines add — are linked from
 * this repository's node_modules the same way.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import type * as ClientLibrary from '../../src/client';
import { chromiumAvailable, closeBrowsers, launchChromium, newContext } from '../helpers/browser';
import { Waiter } from '../helpers/line-peer';

const ROOT = path.join(__dirname, '..', '..');
const GUIDE = fs.readFileSync(path.join(ROOT, 'docs', 'first-app.md'), 'utf8');
/** What the guide's `npm install` lines put in node_modules, linked from this repository's. */
const LINKED = ['zod', 'tsx', 'typescript', '@types/node'];

interface Block {
  readonly marker: 'file' | 'run';
  readonly name: string;
  readonly body: string;
}

/** The marked blocks: a `<!-- file: x -->` or `<!-- run: x -->` comment, then a fenced block. */
function markedBlocks(markdown: string): Block[] {
  const pattern = /<!-- (file|run): (\S+) -->\n```[a-z]*\n([\s\S]*?)\n```/g;
  return [...markdown.matchAll(pattern)].map((m) => ({ marker: m[1] as Block['marker'], name: m[2] as string, body: `${m[3] as string}\n` }));
}

function command(name: string): string {
  const block = markedBlocks(GUIDE).find((b) => b.marker === 'run' && b.name === name);
  if (block === undefined) throw new Error(`docs/first-app.md has no <!-- run: ${name} --> block`);
  return block.body.trim();
}

let dir: string;
let env: NodeJS.ProcessEnv;
let server: ChildProcessWithoutNullStreams | undefined;

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'testing', 'index.js'))) throw new Error('dist/ is not built: run npm run build (npm ci does)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-first-app-'));
  for (const { marker, name, body } of markedBlocks(GUIDE)) {
    if (marker !== 'file') continue;
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
  }
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '@types'), { recursive: true });
  fs.mkdirSync(path.join(modules, '.bin'));
  fs.symlinkSync(ROOT, path.join(modules, 'switchyard'), 'dir');
  for (const name of LINKED) fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name), 'dir');
  // What npm install makes for the package's bin (a link to dist/cli.js, made executable), so that `npx switchyard` finds it
  // locally; here a shim, which leaves this checkout's files as they are.
  fs.writeFileSync(path.join(modules, '.bin', 'switchyard'), '#!/bin/sh\nexec node "$(dirname "$0")/../switchyard/dist/cli.js" "$@"\n', { mode: 0o755 });
  // The folder's own settings, as a user's shell has them: none of this repository's test settings (tsx's tsconfig, log levels).
  env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TSX_') && !key.startsWith('SWITCHYARD_') && !key.startsWith('TS_NODE_')));
});

afterAll(async () => {
  await closeBrowsers();
  // The server is its own process group (detached): SIGKILL whatever of it a failed test left.
  if (server?.pid !== undefined && server.exitCode === null && server.signalCode === null) {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the guide names every file it needs and the commands to run', () => {
  const files = markedBlocks(GUIDE).filter((b) => b.marker === 'file').map((b) => b.name);
  expect(files).toEqual(expect.arrayContaining(['package.json', 'switchyard.json', 'services/chat.ts', 'public/index.html', 'public/app.js', 'test/chat.test.ts']));
  expect(command('test')).toBe('npm test');
  expect(GUIDE).toContain('(deploy.md)');
});

test("the guide's code type-checks against the built package", () => {
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir, env, encoding: 'utf8', timeout: 30000 });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
});

test("the guide's service test passes (npm test)", () => {
  const run = spawnSync('sh', ['-c', command('test')], { cwd: dir, env, encoding: 'utf8', timeout: 30000 });
  const result = { status: run.status, pass: /# pass 2\b/.test(run.stdout), fail: /# fail 0\b/.test(run.stdout) };
  if (run.status !== 0) throw new Error(`npm test failed (${run.status}): ${run.stdout.slice(0, 4000)} ${run.stderr.slice(-2000)}`);
  expect(result).toEqual({ status: 0, pass: true, fail: true });
});

test("the guide's start command serves the page and the typed chat; SIGTERM stops it cleanly", async () => {
  // The port from the environment, as the guide says a platform gives it (0: any free one); one worker is enough here.
  const child = spawn('sh', ['-c', `exec ${command('start')}`], { cwd: dir, env: { ...env, PORT: '0', HOST: '127.0.0.1', SWITCHYARD_WORKERS: '1' }, detached: true });
  server = child;
  const waiter = new Waiter();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    waiter.notify();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    waiter.notify();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    waiter.notify();
    resolve();
  }));
  await waiter.until(() => /listening on http:\/\/\S+:\d+ /.test(stdout) || child.exitCode !== null, () => `the ready line; stdout: ${stdout}; stderr: ${stderr.slice(-2000)}`, 15000);
  const port = Number(/listening on http:\/\/\S+:(\d+) /.exec(stdout)?.[1]);
  if (!(port > 0)) throw new Error(`no ready line (exit ${child.exitCode}): ${stdout.slice(-2000)} ${stderr.slice(-3000)}`);
  const base = `http://127.0.0.1:${port}`;

  const page = await fetch(`${base}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<script type="module" src="app.js">');
  expect((await fetch(`${base}/app.js`)).status).toBe(200);
  expect((await fetch(`${base}/switchyard-client.js`)).status).toBe(200);

  // The client library from the folder's switchyard, typed with the guide's own message types.
  const { connect } = require(path.join(dir, 'node_modules', 'switchyard', 'dist', 'client', 'index.js')) as typeof ClientLibrary;
  type ServerMessage = { type: 'said'; from: string; text: string } | { type: 'joined'; name: string; room: string };
  type ClientMessage = { type: 'say'; text: string } | { type: 'nick'; name: string };
  const options = { WebSocket: WebSocket as unknown as ClientLibrary.WebSocketConstructor, messageFormat: 'json' as const, reconnect: false };
  const ann = connect<ServerMessage, ClientMessage>(`ws://127.0.0.1:${port}/chat?room=lobby`, options);
  const bob = connect<ServerMessage, ClientMessage>(`ws://127.0.0.1:${port}/chat?room=lobby`, options);
  try {
    const bobOpen = new Promise((resolve) => bob.on('open', resolve));
    const bobHears = new Promise<ServerMessage>((resolve) => bob.on('message', (message) => message.type === 'said' && resolve(message)));
    const refused = new Promise<{ code: string }>((resolve) => ann.on('rejected', resolve));
    await bobOpen;
    ann.send({ type: 'nick', name: 'ann' });
    ann.send({ type: 'say', text: 'hello from the guide' });
    expect(await bobHears).toEqual({ type: 'said', from: 'ann', text: 'hello from the guide' });
    ann.send({ type: 'say', text: '' });
    expect((await refused).code).toBe('SY_ERR_INVALID_MESSAGE');

    // The guide's page in a real browser: it joins the room, and what is typed into it reaches the room (bob) and its own list.
    if (chromiumAvailable()) {
      const page = await (await newContext(await launchChromium())).newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${base}/`);
      await page.locator('#log li', { hasText: 'joined lobby' }).first().waitFor();
      const heard = new Promise<ServerMessage>((resolve) => bob.on('message', (message) => message.type === 'said' && message.text === 'from the page' && resolve(message)));
      await page.fill('#text', 'from the page');
      await page.click('#say button');
      expect(await heard).toMatchObject({ type: 'said', text: 'from the page' });
      await page.locator('#log li', { hasText: ': from the page' }).waitFor();
      expect(pageErrors).toEqual([]);
      await closeBrowsers();
    } else {
      console.warn('SKIPPED: the guide page in a browser (no Chromium; set CHROMIUM_PATH)');
    }
  } finally {
    ann.close();
    bob.close();
  }

  // As a terminal's Ctrl-C or a supervisor stops it: the signal to the process group (npx and the master). npx itself
  // dies of the signal (npm's way), so the master's clean stop is read from its log: its "stopped" line, written after
  // every worker and service exited; and stdout ends only once no process of the app holds it any more.
  const ended = new Promise<void>((resolve) => child.stdout.once('close', resolve));
  process.kill(-(child.pid as number), 'SIGTERM');
  await exited;
  await ended;
  const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg?: string; role?: string });
  expect(lines.filter((line) => line.role === 'master').map((line) => line.msg)).toEqual(expect.arrayContaining(['stopping', 'stopped']));
});

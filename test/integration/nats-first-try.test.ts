/**
 * docs/nats.md's "Two nodes on one machine: a first try", followed as a new
 * user would: its `<!-- file: cluster.json -->` block is written into an
 * empty temp folder and its three `<!-- run: … -->` commands are run there
 * as they stand (nats-server, then `npx switchyard start` for node a and
 * node b), except that the documented ports (4222, 8001, 8002) are swapped
 * for free ones so that the test cannot collide with anything on the
 * machine. Then a client on each node joins the same chat room and each
 * hears the other, and each node serves the chat page.
 *
 * `switchyard` resolves through a symlink, node_modules/switchyard → this
 * repository (its dist/, as first-app.test.ts does), so no registry is needed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { closeClients, connect, type TestClient } from '../helpers/cluster';
import { Waiter } from '../helpers/line-peer';
import { NATS_SERVER_PATH, describeWithNats } from '../helpers/nats-server';

const ROOT = path.join(__dirname, '..', '..');
const GUIDE = fs.readFileSync(path.join(ROOT, 'docs', 'nats.md'), 'utf8');

/** The marked block `<!-- kind: name -->` followed by a fenced block. */
function block(kind: 'file' | 'run', name: string): string {
  const pattern = new RegExp(`<!-- ${kind}: ${name.replace('.', '\\.')} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``);
  const found = pattern.exec(GUIDE)?.[1];
  if (found === undefined) throw new Error(`docs/nats.md has no <!-- ${kind}: ${name} --> block`);
  return found;
}

/** A port nothing listens on now (the kernel's pick; a moment later something else could take it, unlikely here). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly output: () => string;
  /** Its stdout closed: every process of the group that held it has exited. */
  readonly ended: Promise<void>;
  until(pattern: RegExp, ms: number): Promise<RegExpExecArray>;
}

const running: Running[] = [];

/** Runs `command` with sh in `cwd`, in a process group of its own (npx, and the master under it). */
function run(command: string, cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn('sh', ['-c', `exec ${command}`], { cwd, env, detached: true });
  const waiter = new Waiter();
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    waiter.notify();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.once('exit', () => waiter.notify());
  const until = async (pattern: RegExp, ms: number): Promise<RegExpExecArray> => {
    await waiter.until(() => pattern.test(output) || child.exitCode !== null || child.signalCode !== null, () => `${pattern} in the output of ${command}: ${output.slice(-3000)}`, ms);
    const match = pattern.exec(output);
    if (match === null) throw new Error(`${command} exited (${child.exitCode ?? child.signalCode}) before ${pattern}: ${output.slice(-3000)}`);
    return match;
  };
  const ended = new Promise<void>((resolve) => child.stdout.once('close', () => resolve()));
  const started: Running = { child, output: () => output, ended, until };
  running.push(started);
  return started;
}

async function joinLobby(client: TestClient, name: string): Promise<void> {
  await client.json((m) => m.type === 'welcome');
  client.sendJson({ type: 'hello', name });
  await client.json((m) => m.type === 'named');
  client.sendJson({ type: 'join', room: 'lobby' });
  await client.json((m) => m.type === 'joined');
}

describeWithNats(__filename)("docs/nats.md's first try: two nodes on one machine", () => {
  let dir: string;

  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'services', 'examples', 'chat.js'))) throw new Error('dist/ is not built: run npm run build (npm ci does)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-nats-first-try-'));
    const modules = path.join(dir, 'node_modules');
    fs.mkdirSync(path.join(modules, '.bin'), { recursive: true });
    fs.symlinkSync(ROOT, path.join(modules, 'switchyard'), 'dir');
    // What npm install makes for the package's bin, as first-app.test.ts does.
    fs.writeFileSync(path.join(modules, '.bin', 'switchyard'), '#!/bin/sh\nexec node "$(dirname "$0")/../switchyard/dist/cli.js" "$@"\n', { mode: 0o755 });
  });

  afterAll(async () => {
    closeClients();
    // The nodes first, then NATS: each process group SIGTERMed (npx and the master under it, as Ctrl-C does), and
    // waited for until its output closes (no process of it holds the pipe any more).
    for (const { child, ended } of running.reverse()) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGTERM');
      await ended;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  test('the config and the three commands, run as documented: a client on each node chats in one room', async () => {
    const natsCommand = block('run', 'nats');
    const config = block('file', 'cluster.json');
    const nodeA = block('run', 'node-a');
    const nodeB = block('run', 'node-b');
    // The documented ports, each swapped for a free one (and the documented binary for the installed one).
    expect(natsCommand).toBe('nats-server -a 127.0.0.1 -p 4222');
    expect(config).toContain('nats://127.0.0.1:4222');
    expect(nodeA).toBe('npx switchyard start --node a --port 8001 --config cluster.json');
    expect(nodeB).toBe('npx switchyard start --node b --port 8002 --config cluster.json');
    const natsPort = String(await freePort());
    fs.writeFileSync(path.join(dir, 'cluster.json'), config.replace('4222', natsPort));
    // The folder's own settings, as a user's shell has them: none of this repository's test settings.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TSX_') && !key.startsWith('SWITCHYARD_') && !key.startsWith('TS_NODE_')));

    const nats = run(natsCommand.replace(/^nats-server/, NATS_SERVER_PATH).replace('4222', natsPort), dir, env);
    await nats.until(/Server is ready/, 10_000);
    const ready = /listening on http:\/\/\S+:(\d+) /;
    // Loopback only, and one worker each (as first-app.test.ts does through the environment a platform would set).
    const nodeEnv = { ...env, HOST: '127.0.0.1', SWITCHYARD_WORKERS: '1' };
    const a = run(nodeA.replace('8001', '0'), dir, nodeEnv);
    const b = run(nodeB.replace('8002', '0'), dir, nodeEnv);
    const portA = Number((await a.until(ready, 20_000))[1]);
    const portB = Number((await b.until(ready, 20_000))[1]);

    // Each node serves the bundled chat page (the browser's way in).
    for (const port of [portA, portB]) {
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<script/);
    }
    const ann = await connect(portA, '/chat');
    const bob = await connect(portB, '/chat');
    await joinLobby(ann, 'ann');
    await joinLobby(bob, 'bob');
    bob.sendJson({ type: 'say', text: 'hi from node b' });
    ann.sendJson({ type: 'say', text: 'hi from node a' });
    for (const client of [ann, bob]) {
      await client.json((m) => m.type === 'message' && m.text === 'hi from node b' && m.from === 'bob');
      await client.json((m) => m.type === 'message' && m.text === 'hi from node a' && m.from === 'ann');
    }
    // Node b runs no instance: it reaches the chat on node a over NATS (its /healthz sees a up and runs no service).
    const health = (await (await fetch(`http://127.0.0.1:${portB}/healthz`)).json()) as { processes: Array<{ kind: string }>; nodes: Array<{ node: string; state: string }> };
    expect(health.processes.filter((p) => p.kind === 'service')).toEqual([]);
    expect(health.nodes).toEqual([expect.objectContaining({ node: 'a', state: 'up' })]);
  }, 40_000);
});

/**
 * A reload whose new service code cannot start (onStart throws, or the module
 * does not even parse) must leave the running instance serving: reload()
 * rejects with SY_ERR_RELOAD_FAILED naming the service, and the clients are
 * not touched. Once the file is fixed, the next reload succeeds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isSwitchyardError } from '../../src/errors';
import { closeAll, connect, startCluster, type TestClient } from '../helpers/cluster';

const SERVICE_CLASS = path.join(__dirname, '..', '..', 'src', 'services', 'service');

/** A service module that answers each message with `<version>:<message>`; `onStartBody` runs in onStart. */
function serviceSource(version: string, onStartBody = ''): string {
  return [
    `import { Service } from ${JSON.stringify(SERVICE_CLASS)};`,
    'export default class Versioned extends Service {',
    `  override async onStart(): Promise<void> { ${onStartBody} }`,
    '  override onMessage(client: { id: string }, data: string | Buffer): void {',
    `    this.send(client.id, ${JSON.stringify(`${version}:`)} + String(data));`,
    '  }',
    '}',
    '',
  ].join('\n');
}

let folder: string;

beforeEach(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'sy-reload-'));
});

afterEach(async () => {
  await closeAll();
  rmSync(folder, { recursive: true, force: true });
});

async function roundTrip(client: TestClient, text: string): Promise<string> {
  const before = client.messages.length;
  client.socket.send(text);
  const [reply] = (await client.received(before + 1)).slice(before);
  return String(reply);
}

test('a reload with a broken module keeps the running instance serving, rejects naming the service, and touches no client', async () => {
  const modulePath = path.join(folder, 'versioned.ts');
  writeFileSync(modulePath, serviceSource('v1'));
  const { server, port } = await startCluster({ services: { versioned: modulePath }, startTimeout: 20_000 });
  const pidBefore = server.stats().services[0]?.pid;
  const workersBefore = server.stats().workers.map((worker) => worker.pid);
  const clients = await Promise.all([connect(port, '/versioned'), connect(port, '/versioned')]);
  for (const [i, client] of clients.entries()) expect(await roundTrip(client, `hello ${i}`)).toBe(`v1:hello ${i}`);
  let reloadEvents = 0;
  server.on('reload', () => reloadEvents++);

  const broken = [
    { what: 'onStart throws', source: serviceSource('v2', "throw new Error('database migration failed');"), cause: /database migration failed/ },
    { what: 'syntax error', source: 'export default class {{{ nope', cause: /cannot load/ },
  ];
  for (const { what, source, cause } of broken) {
    writeFileSync(modulePath, source);
    // The clients keep talking while the reload tries and fails.
    const during = clients.map((client, i) => roundTrip(client, `during ${what} ${i}`));
    const error = await server.reload().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isSwitchyardError(error, 'SY_ERR_RELOAD_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/"versioned"/);
    expect((error as Error).message).toMatch(cause);
    expect(isSwitchyardError((error as Error).cause, 'SY_ERR_SERVICE_START_FAILED')).toBe(true);
    expect(await Promise.all(during)).toEqual(clients.map((_, i) => `v1:during ${what} ${i}`));
    // The old instance still serves, the same process, and the workers were not replaced.
    const stats = server.stats();
    expect(stats.services[0]).toMatchObject({ state: 'online', pid: pidBefore });
    expect(stats.workers.map((worker) => worker.pid)).toEqual(workersBefore);
    for (const [i, client] of clients.entries()) expect(await roundTrip(client, `after ${what} ${i}`)).toBe(`v1:after ${what} ${i}`);
  }
  expect(reloadEvents).toBe(0);
  expect(clients.map((client) => client.closeCode)).toEqual([undefined, undefined]);

  // The fix is deployed: the next reload succeeds and the new code answers.
  writeFileSync(modulePath, serviceSource('v3'));
  const closed = Promise.race(clients.map((client) => client.closed));
  await server.reload();
  expect(reloadEvents).toBe(1);
  expect(server.stats().services[0]?.pid).not.toBe(pidBefore);
  // The workers were replaced after the services: the old clients were moved on with 1012.
  expect(await closed).toBe(1012);
  const fresh = await connect(port, '/versioned');
  expect(await roundTrip(fresh, 'fixed')).toBe('v3:fixed');
}, 60000);

test('the CLI: a SIGHUP whose reload fails logs it naming the service, and the running instance keeps serving', async () => {
  const modulePath = path.join(folder, 'versioned.ts');
  writeFileSync(modulePath, serviceSource('v1'));
  const root = path.join(__dirname, '..', '..');
  const args = ['--require', require.resolve('tsx/cjs'), path.join(root, 'src', 'cli.ts'), 'start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'error', '--service', `versioned=${modulePath}`];
  const cli = spawn(process.execPath, args, { cwd: root, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' } });
  const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve));
  try {
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    cli.stdout.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      for (const waiter of waiters.splice(0)) waiter();
    });
    const line = (match: (text: string) => boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match);
          if (found !== undefined) resolve(found);
          else waiters.push(check);
        };
        void exited.then((code) => reject(new Error(`the CLI exited with ${code}`)));
        check();
      });
    const listening = await line((text) => text.includes('listening on'));
    const port = Number(/:(\d+) /.exec(listening)?.[1]);
    const client = await connect(port, '/versioned');
    expect(await roundTrip(client, 'before')).toBe('v1:before');
    writeFileSync(modulePath, serviceSource('v2', "throw new Error('database migration failed');"));
    cli.kill('SIGHUP');
    const failed = JSON.parse(await line((text) => text.includes('rolling reload failed'))) as { err: { code: string; message: string } };
    expect(failed.err.code).toBe('SY_ERR_RELOAD_FAILED');
    expect(failed.err.message).toMatch(/"versioned" failed to start: database migration failed/);
    expect(await roundTrip(client, 'after')).toBe('v1:after');
    expect(client.closeCode).toBeUndefined();
  } finally {
    cli.kill('SIGTERM');
    await exited;
  }
}, 30000);

import { execFileSync } from 'node:child_process';
import { closeAll, connect, startCluster, FIXTURES, type TestClient } from '../helpers/cluster';
import { createServer } from '../../src/master/server';
import { isSwitchyardError } from '../../src/errors';
import * as path from 'node:path';

afterEach(closeAll);

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes this test process started, other than the `ps` that lists them. */
function childPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).toString();
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, command]) => Number(pid) > 0 && command !== 'ps')
    .map(([pid]) => Number(pid));
}

test('close() resolves once every child process is gone; clients get 1001; services hear onClose first', async () => {
  const { server, port } = await startCluster({ services: { rec: path.join(FIXTURES, 'recorder.ts'), echo: path.join(FIXTURES, '..', '..', 'src', 'services', 'examples', 'echo.ts') } });
  const stats = server.stats();
  const pids = [...stats.workers.map((w) => w.pid), ...stats.services.map((s) => s.pid)];
  expect(pids).toHaveLength(4);
  expect(pids.every(alive)).toBe(true);
  const client = await connect(port, '/rec');
  await client.json((m) => m.type === 'welcome');
  const exits: string[] = [];
  server.on('workerExit', (info) => exits.push(`worker ${info.expected}`));
  server.on('serviceExit', (info) => exits.push(`service ${info.expected}`));
  await server.close();
  expect(await client.closed).toBe(1001);
  expect(pids.some(alive)).toBe(false);
  expect(childPids()).toEqual([]);
  expect(exits.sort()).toEqual(['service true', 'service true', 'worker true', 'worker true']);
  expect(server.state).toBe('closed');
});

test('a service whose onStart fails makes listen() reject with a typed error naming it; nothing is left running', async () => {
  const server = createServer({ port: 0, workers: 1, logLevel: 'silent', services: { broken: path.join(FIXTURES, 'failing-start.ts') } });
  let caught: unknown;
  try {
    await server.listen();
  } catch (error) {
    caught = error;
  }
  expect(isSwitchyardError(caught, 'SY_ERR_SERVICE_START_FAILED')).toBe(true);
  expect((caught as Error).message).toContain('"broken"');
  expect((caught as Error).message).toContain('database unreachable');
  expect(server.state).toBe('closed');
  expect(childPids()).toEqual([]);
});

test.each([
  ['a module that is not a Service', 'not-a-service.ts', 'must default-export a class that extends Service'],
  ['a module that does not exist', 'missing.js', 'cannot load'],
])('%s fails startup with SY_ERR_SERVICE_START_FAILED', async (_name, file, message) => {
  const server = createServer({ port: 0, workers: 1, logLevel: 'silent', services: { bad: path.join(FIXTURES, file) } });
  await expect(server.listen()).rejects.toMatchObject({ code: 'SY_ERR_SERVICE_START_FAILED', message: expect.stringContaining(message) });
  expect(childPids()).toEqual([]);
});

test('listen() twice is a caller bug that throws at once', async () => {
  const { server } = await startCluster();
  expect(() => server.listen()).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_STATE' }));
});

test('a port already in use fails startup with SY_ERR_ADDRESS_IN_USE', async () => {
  const { port } = await startCluster();
  const second = createServer({ port, host: '127.0.0.1', workers: 1, logLevel: 'silent' });
  await expect(second.listen()).rejects.toMatchObject({ code: 'SY_ERR_ADDRESS_IN_USE' });
  expect(childPids()).toHaveLength(4);
});

test('a worker that dies: services hear onClose 1006 for its clients only, a replacement is forked', async () => {
  const { server, port } = await startCluster({ services: { rec: path.join(FIXTURES, 'recorder.ts') }, restartDelay: 10 });
  const clients = await Promise.all(Array.from({ length: 6 }, () => connect(port, '/rec')));
  const ids = await Promise.all(clients.map(async (c) => (await c.json<{ id: string }>((m) => m.type === 'welcome')).id));
  const victim = server.stats().workers[0];
  const victimPrefix = `${victim?.id.toString(36)}.`;
  const doomed = ids.filter((id) => id.startsWith(victimPrefix));
  const survivors = clients.filter((_, i) => !ids[i]?.startsWith(victimPrefix));
  expect(doomed.length).toBeGreaterThan(0);
  expect(survivors.length).toBeGreaterThan(0);
  const exited = new Promise<void>((resolve) => server.on('workerExit', (info) => info.workerId === victim?.id && resolve()));
  const replacement = new Promise<number>((resolve) => server.on('workerOnline', (info) => resolve(info.workerId)));
  process.kill(victim?.pid as number, 'SIGKILL');
  await exited;
  const survivor = survivors[0] as TestClient;
  // The master hears the exit over its IPC, the service the end of the dead worker's link on its socket: two
  // channels with no order between them, so the service is asked again until it has heard as many closes (5 s at most).
  type Events = { events: Array<{ event: string; id: string; code?: number }> };
  let closes: Events['events'] = [];
  for (const deadline = Date.now() + 5000; closes.length < doomed.length && Date.now() < deadline; ) {
    survivor.messages.length = 0;
    survivor.socket.send('events?');
    closes = (await survivor.json<Events>((m) => m.type === 'events')).events.filter((e) => e.event === 'close');
    if (closes.length < doomed.length) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(closes.map((e) => e.id).sort()).toEqual([...doomed].sort());
  expect(closes.every((e) => e.code === 1006)).toBe(true);
  // New connections succeed at once, survivors keep being served.
  const fresh = await connect(port, '/rec');
  await fresh.json((m) => m.type === 'welcome');
  expect(await replacement).not.toBe(victim?.id);
  expect(server.stats().workers.filter((w) => w.ready)).toHaveLength(2);
});

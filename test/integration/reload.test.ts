import * as path from 'node:path';
import WebSocket from 'ws';
import { closeAll, startCluster, FIXTURES } from '../helpers/cluster';
import { checkDelivery, readLedger, useLedger } from '../helpers/ledger';

const ledgerFile = useLedger(closeAll);

interface Session {
  readonly tag: string;
  id: string | undefined;
  sent: string[];
  closeCode: number | undefined;
  socket: WebSocket;
}

test('rolling reload under a steady stream of connections and messages: nothing refused, nothing lost', async () => {
  const { server, port } = await startCluster({ services: { ledger: path.join(FIXTURES, 'ledger.ts') } });
  const before = server.stats();
  const sessions: Session[] = [];
  const failures: string[] = [];
  let running = true;

  // One new connection every 15 ms; every open connection sends a numbered message every 10 ms.
  const open = (): void => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ledger`);
    const session: Session = { tag: `s${sessions.length}`, id: undefined, sent: [], closeCode: undefined, socket };
    sessions.push(session);
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; id?: string };
      if (message.type === 'welcome') session.id = message.id;
    });
    socket.on('unexpected-response', (_request, response) => failures.push(`HTTP ${response.statusCode}`));
    socket.on('error', (error) => failures.push(error.message));
    socket.on('close', (code: number) => {
      session.closeCode = code;
    });
  };
  const opener = setInterval(() => running && open(), 15);
  const sender = setInterval(() => {
    for (const session of sessions) {
      if (session.socket.readyState !== WebSocket.OPEN) continue;
      // Tagged, so that what a client sent is found even if it left before learning its id.
      const n = `${session.tag}.${session.sent.length + 1}`;
      session.socket.send(n);
      session.sent.push(n);
    }
  }, 10);

  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reloaded = new Promise<void>((resolve) => server.once('reload', () => resolve()));
    await server.reload();
    await reloaded;
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    running = false;
    clearInterval(opener);
    clearInterval(sender);
  }

  // Every worker and service process was replaced.
  const after = server.stats();
  const pidsBefore = [...before.workers.map((w) => w.pid), ...before.services.map((s) => s.pid)];
  const pidsAfter = [...after.workers.map((w) => w.pid), ...after.services.map((s) => s.pid)];
  expect(pidsAfter.filter((pid) => pidsBefore.includes(pid))).toEqual([]);
  expect(after.services.every((s) => s.state === 'online')).toBe(true);

  // Let every session settle (open, or closed by the reload), then stop: services finish their handlers first.
  await Promise.all(sessions.map((s) => (s.socket.readyState === WebSocket.CONNECTING ? new Promise((r) => s.socket.once('open', r).once('close', r)) : undefined)));
  await server.close();

  expect(failures).toEqual([]);
  const reloadedClients = sessions.filter((s) => s.closeCode === 1012);
  expect(reloadedClients.length).toBeGreaterThan(0);
  const entries = readLedger(ledgerFile());
  let checked = 0;
  for (const session of sessions) {
    if (session.sent.length === 0) continue;
    const mine = (entry: { data: string }): boolean => entry.data.startsWith(`${session.tag}.`);
    expect(checkDelivery(entries, mine, session.sent)).toBeUndefined();
    checked += session.sent.length;
  }
  expect(checked).toBeGreaterThan(100);
}, 60000);

test('a failed service stays failed through a reload whose code still cannot start, and the next reload revives it', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { isSwitchyardError } = await import('../../src/errors');
  const marker = path.join(mkdtempSync(path.join(tmpdir(), 'sy-gate-')), 'broken');
  process.env.SWITCHYARD_TEST_BREAK_START = marker;
  const { server, port } = await startCluster({ services: { gate: path.join(FIXTURES, 'start-gate.ts') }, restartDelay: 20, crashLoopCount: 3 });
  const socket = new WebSocket(`ws://127.0.0.1:${port}/gate`);
  const closed = new Promise<number>((resolve) => socket.once('close', resolve));
  await new Promise((resolve) => socket.once('message', resolve));
  // A bad deploy meets a crash: every restart fails to start, up to the crash-loop limit.
  writeFileSync(marker, 'x');
  const exits: boolean[] = [];
  server.on('serviceExit', (info) => exits.push(info.expected));
  const failed = new Promise((resolve) => server.once('serviceFailed', resolve));
  process.kill(server.stats().services[0]?.pid as number, 'SIGKILL');
  await failed;
  expect(exits).toEqual([false, false, false]);
  expect(await closed).toBe(1011);
  // A reload with the code still broken: the service stays failed, and the reload says why.
  const error = await server.reload().then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isSwitchyardError(error, 'SY_ERR_RELOAD_FAILED')).toBe(true);
  expect((error as Error).message).toMatch(/"gate".*broken deploy/);
  expect(server.stats().services[0]?.state).toBe('failed');
  const late = new WebSocket(`ws://127.0.0.1:${port}/gate`);
  expect(await new Promise<number>((resolve) => late.once('close', resolve))).toBe(1011);
  // The fix is deployed: a reload starts the failed service afresh.
  rmSync(path.dirname(marker), { recursive: true, force: true });
  await server.reload();
  expect(server.stats().services[0]?.state).toBe('online');
  const revived = new WebSocket(`ws://127.0.0.1:${port}/gate`);
  const welcome = await new Promise<string>((resolve) => revived.once('message', (data: Buffer) => resolve(data.toString())));
  expect(JSON.parse(welcome)).toMatchObject({ type: 'welcome' });
  revived.close();
  delete process.env.SWITCHYARD_TEST_BREAK_START;
  // Six service starts and two worker reloads: about 11 s on a quiet machine, several times that on a loaded one.
}, 90000);

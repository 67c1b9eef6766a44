/**
 * The sequence a systemd unit (or any supervisor) runs on the real CLI:
 * start, `ExecReload=kill -HUP` while clients stream numbered messages,
 * `kill -TERM` at the end. Nothing the clients sent may be lost, and the
 * stop must end with exit status 0 within stopTimeout.
 */
import * as path from 'node:path';
import WebSocket from 'ws';
import { FIXTURES } from '../helpers/cluster';
import { checkDelivery, freshLedger, readLedger } from '../helpers/ledger';
import { CLI, spawnScript, stopSpawned } from '../helpers/spawned';

const STOP_TIMEOUT = 5000;
let ledger: ReturnType<typeof freshLedger>;

beforeEach(() => {
  ledger = freshLedger();
});

afterEach(() => {
  stopSpawned();
  ledger.cleanup();
});

interface Session {
  readonly tag: string;
  readonly sent: string[];
  readonly socket: WebSocket;
  closeCode?: number;
}

test('start, SIGHUP while clients stream (nothing lost), SIGTERM: exit 0 within stopTimeout', async () => {
  const cli = spawnScript(CLI, ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--service', `ledger=${path.join(FIXTURES, 'ledger.ts')}`], {
    SWITCHYARD_STOP_TIMEOUT: String(STOP_TIMEOUT),
    SWITCHYARD_LOG_LEVEL: 'info',
  });
  const ready = await cli.line(/^switchyard listening on /);
  const port = Number(/:(\d+) /.exec(ready)?.[1]);

  const sessions: Session[] = [];
  const failures: string[] = [];
  let streaming = true;
  const open = (): void => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ledger`);
    const session: Session = { tag: `c${sessions.length}`, sent: [], socket };
    sessions.push(session);
    socket.on('error', (error) => failures.push(`${session.tag}: ${error.message}`));
    socket.on('close', (code: number) => {
      session.closeCode = code;
      // A client told to reconnect (1012, a worker replaced by the reload) does so, as browsers and the client library do.
      if (code === 1012 && streaming) open();
    });
  };
  for (let i = 0; i < 4; i++) open();
  const sender = setInterval(() => {
    for (const session of sessions) {
      if (session.socket.readyState !== WebSocket.OPEN) continue;
      const message = `${session.tag}.${session.sent.length + 1}`;
      session.socket.send(message);
      session.sent.push(message);
    }
  }, 10);

  try {
    await cli.line(/"msg":"switchyard is ready"/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    cli.child.kill('SIGHUP');
    await cli.line(/"msg":"rolling reload done"/, 30000);
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    streaming = false;
    clearInterval(sender);
  }

  const stopped = Date.now();
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
  expect(Date.now() - stopped).toBeLessThan(STOP_TIMEOUT);

  expect(failures).toEqual([]);
  expect(sessions.filter((s) => s.closeCode === 1012).length).toBeGreaterThan(0);
  const entries = readLedger(ledger.file);
  let checked = 0;
  for (const session of sessions) {
    const mine = (entry: { data: string }): boolean => entry.data.startsWith(`${session.tag}.`);
    expect(checkDelivery(entries, mine, session.sent)).toBeUndefined();
    checked += session.sent.length;
  }
  expect(checked).toBeGreaterThan(100);
}, 60000);

import * as path from 'node:path';
import WebSocket from 'ws';
import { FIXTURES } from '../helpers/cluster';
import { spawnScript, stopSpawned } from '../helpers/spawned';

afterEach(stopSpawned);

function open(port: number): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/echo`);
  return new Promise((resolve, reject) => socket.once('open', () => resolve(socket)).once('error', reject));
}

function echo(socket: WebSocket, text: string): Promise<string> {
  socket.send(text);
  return new Promise((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())));
}

test('an embedder with server.handleSignals(): SIGHUP reloads (the master survives), SIGTERM stops and exits 0', async () => {
  const app = spawnScript(path.join(FIXTURES, 'embedder.ts'), []);
  const port = Number(/^port (\d+)$/.exec(await app.line(/^port \d+$/))?.[1]);
  const first = await open(port);
  expect(await echo(first, 'before')).toBe('before');
  const firstClosed = new Promise<number>((resolve) => first.once('close', resolve));

  app.child.kill('SIGHUP');
  await app.line(/^reloaded$/);
  // The worker was replaced (its client told to reconnect), the master kept running.
  expect(await firstClosed).toBe(1012);
  expect(app.child.exitCode).toBeNull();
  const second = await open(port);
  expect(await echo(second, 'after')).toBe('after');

  const secondClosed = new Promise<number>((resolve) => second.once('close', resolve));
  const started = Date.now();
  app.child.kill('SIGTERM');
  expect(await secondClosed).toBe(1001);
  expect(await app.exited).toBe(0);
  expect(Date.now() - started).toBeLessThan(5000);
}, 40000);

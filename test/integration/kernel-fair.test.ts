/**
 * `balancing: 'kernel-fair'`: the workers accept from node:cluster's shared
 * socket themselves (as `'kernel'`, no hand-off through the master), each
 * accepting one connection per wakeup (libuv's UV_TCP_SINGLE_ACCEPT, set in
 * the workers' environment), so that the spread over workers is even. Run
 * through the CLI in a process of its own: node:cluster fixes round-robin or
 * not once per process, and this jest process's other clusters use the default.
 */
import * as fs from 'node:fs';
import WebSocket from 'ws';
import { closeAll, connect, type TestClient } from '../helpers/cluster';
import { clientsPerWorker, startBalancedCli, workersOf } from '../helpers/worker-spread';
import { stopSpawned } from '../helpers/spawned';


afterEach(async () => {
  await closeAll();
  stopSpawned();
});

function environOf(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

test("'kernel-fair': the workers get libuv's single accept, and each takes a share of bursts of connects", async () => {
  const { cli, port, info } = await startBalancedCli('kernel-fair', process.execPath, { UV_TCP_SINGLE_ACCEPT: '' });
  expect(info.balancing).toBe('kernel-fair');
  const workers = await workersOf(port);
  expect(workers).toHaveLength(2);
  for (const worker of workers) expect(environOf(worker.pid)).toContain('UV_TCP_SINGLE_ACCEPT=1');
  expect(environOf(cli.child.pid as number)).not.toContain('UV_TCP_SINGLE_ACCEPT=1');
  // Bursts of 50 at once. This client is too slow to show the evenness itself (docs/bench.md#balancing has the storm's figures): it checks that both accept.
  const clients: TestClient[] = [];
  for (let i = 0; i < 4; i++) clients.push(...(await Promise.all(Array.from({ length: 50 }, () => connect(port, '/echo')))));
  const counts = await clientsPerWorker(port, 200);
  expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
  // Both accept (a worker that never wakes would get none); how even the spread is, the bench measures.
  for (const count of counts) expect(count).toBeGreaterThan(0);
  for (const client of clients) client.socket.terminate();
}, 30000);

test("'kernel-fair': a rolling reload under a steady stream of connects refuses none", async () => {
  const { cli, port } = await startBalancedCli('kernel-fair', process.execPath, { UV_TCP_SINGLE_ACCEPT: '' });
  const failures: string[] = [];
  const sockets: WebSocket[] = [];
  const closeCodes: number[] = [];
  const open = (): void => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    sockets.push(socket);
    socket.on('unexpected-response', (_request, response) => failures.push(`HTTP ${response.statusCode}`));
    socket.on('error', (error) => failures.push(error.message));
    socket.on('close', (code: number) => closeCodes.push(code));
  };
  // One new connection every 15 ms, as in reload.test.ts.
  const opener = setInterval(open, 15);
  try {
    cli.child.kill('SIGHUP');
    await cli.line(/rolling reload done/, 30000);
  } finally {
    clearInterval(opener);
  }
  // Every attempt settles: open (then closed by us) or closed by the reload.
  await Promise.all(sockets.map((s) => (s.readyState === WebSocket.CONNECTING ? new Promise((r) => s.once('open', r).once('close', r)) : undefined)));
  expect(failures).toEqual([]);
  expect(sockets.length).toBeGreaterThan(20);
  // Clients of the retired workers were closed with 1012 (so the stream did reach them).
  expect(closeCodes.filter((code) => code === 1012).length).toBeGreaterThan(0);
  for (const socket of sockets) socket.terminate();
}, 45000);

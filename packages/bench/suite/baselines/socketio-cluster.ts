/**
 * Baseline: Socket.IO as its users scale it on one machine. This primary
 * forks SWITCHYARD_BENCH_WORKERS (default 2) `node:cluster` workers running
 * `socketio-worker.ts` on one shared port, and relays broadcasts between them
 * with `@socket.io/cluster-adapter`'s `setupPrimary()`. WebSocket transport
 * only, so no sticky sessions are needed. SOCKETIO_BENCH_MODE picks what the
 * workers do with a "message" event: `echo` (default) or `fanout`.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { setupPrimary } from '@socket.io/cluster-adapter';
import type { ListeningMessage } from './listen';

const workers = Number(process.env.SWITCHYARD_BENCH_WORKERS ?? '2');
const STOP_GRACE_MS = 5000;

setupPrimary();
cluster.setupPrimary({ exec: path.join(__dirname, `socketio-worker${path.extname(__filename)}`) });

let stopping = false;
const ports = new Set<number>();
let listening = 0;

function fail(message: string): void {
  process.stderr.write(`socket.io cluster baseline: ${message}\n`);
  stop(1);
}

function stop(status = 0): void {
  if (stopping) return;
  stopping = true;
  const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  if (alive.length === 0) process.exit(status);
  let left = alive.length;
  for (const worker of alive) {
    worker.once('exit', () => {
      if (--left === 0) process.exit(status);
    });
    worker.process.kill('SIGTERM');
  }
  setTimeout(() => {
    for (const worker of alive) if (!worker.isDead()) worker.process.kill('SIGKILL');
    process.exit(status);
  }, STOP_GRACE_MS).unref();
}

cluster.on('listening', (_worker, address: AddressInfo) => {
  ports.add(address.port);
  if (++listening < workers) return;
  // Workers listening on port 0 share the one port the primary picked for the first.
  if (ports.size !== 1) return fail(`workers listen on different ports: ${[...ports].join(', ')}`);
  const message: ListeningMessage = { type: 'listening', port: address.port };
  process.send?.(message);
});
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) fail(`worker ${worker.id} exited (${signal ?? code})`);
});

// The suite stops a target with SIGTERM; a suite that died leaves no orphan behind.
process.on('SIGTERM', () => stop(0));
process.on('disconnect', () => stop(0));

for (let i = 0; i < workers; i++) cluster.fork();

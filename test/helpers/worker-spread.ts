/** Which workers hold a cluster's clients, as its /healthz says, and a CLI cluster to ask: for the balancing tests. */
import type { ReadyInfo } from '../../src/master/server';
import { CLI, spawnScript, type Spawned } from './spawned';

export interface HealthWorker {
  readonly kind: string;
  readonly pid: number;
  readonly clients?: number;
}

/** The workers listed by the /healthz of the cluster on `port`. */
export async function workersOf(port: number): Promise<HealthWorker[]> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = (await response.json()) as { processes: HealthWorker[] };
  return body.processes.filter((p) => p.kind === 'worker');
}

/** Waits until /healthz shows `total` clients over the workers (status reports are batched), at most 5 s; returns each worker's count. */
export async function clientsPerWorker(port: number, total: number): Promise<number[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const counts = (await workersOf(port)).map((w) => w.clients ?? 0);
    if (counts.reduce((a, b) => a + b, 0) === total || Date.now() > deadline) return counts;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ECHO = require.resolve('../../src/services/examples/echo');

/**
 * The CLI with 2 workers and the bundled echo, in a process of its own (node:cluster fixes its scheduling once per
 * process, so a balancing mode is tested there), on `node` (default: this one), with `env` added; once it is ready.
 */
export async function startBalancedCli(balancing: string, node: string = process.execPath, env: NodeJS.ProcessEnv = {}): Promise<{ cli: Spawned; port: number; info: ReadyInfo }> {
  const args = ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--log-level', 'info', '--balancing', balancing, '--service', `echo=${ECHO}`];
  const cli = spawnScript(CLI, args, env, node);
  const info = JSON.parse(await cli.line(/switchyard is ready/, 30000)) as ReadyInfo;
  return { cli, port: info.port, info };
}

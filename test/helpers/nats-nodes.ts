/**
 * Switchyard nodes joined through NATS, each a CLI process of its own
 * (started from sources through tsx): one config file for all of them, as a
 * user would write it, and `--node` per process.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { NatsServer } from './nats-server';
import { CLI, spawnScript, type Spawned } from './spawned';

export interface NodeProcess {
  readonly name: string;
  readonly cli: Spawned;
  readonly port: number;
}

/** Writes a config file with `cluster` (heartbeats every 200 ms, dead after 1 s) and `services`; returns its path. */
export function writeClusterConfig(nats: NatsServer, services: Record<string, unknown>, nodes: readonly string[]): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-nodes-'));
  const file = path.join(folder, 'cluster.json');
  writeFileSync(
    file,
    JSON.stringify({ cluster: { node: 'unset', nats: nats.url, name: 'sytest', heartbeatInterval: 200, deadAfter: 1000, nodes }, services, staticDir: false }),
  );
  return file;
}

/** Starts node `name` on a free port with one worker (`args`: more flags, such as `--nats`); resolves once it listens. */
export async function startNode(name: string, config: string, env: NodeJS.ProcessEnv = {}, args: readonly string[] = []): Promise<NodeProcess> {
  const cli = spawnScript(CLI, ['start', '--config', config, '--node', name, '--port', '0', '--host', '127.0.0.1', '--workers', '1', ...args], {
    SWITCHYARD_LOG_LEVEL: 'warn',
    ...env,
  });
  const ready = await cli.line(/^switchyard listening on /, 30_000);
  return { name, cli, port: Number(/:(\d+) /.exec(ready)?.[1]) };
}

/** SIGTERMs each node still running and waits for it to exit. */
export async function stopNodes(nodes: ReadonlyArray<NodeProcess | undefined>): Promise<void> {
  const running = nodes.filter((node): node is NodeProcess => node !== undefined && node.cli.child.exitCode === null && node.cli.child.signalCode === null);
  for (const node of running) node.cli.child.kill('SIGTERM');
  await Promise.all(running.map((node) => node.cli.exited));
}

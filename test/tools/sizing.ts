/**
 * Measures what docs/deploy.md states for sizing: the RSS of each process of
 * an idle cluster, and the RSS one idle WebSocket connection adds (over the
 * whole cluster). Runs the built CLI (`npm run build` first), so the figures
 * are those of a deployment, not of ts-node:
 *
 *   npx ts-node --transpile-only test/tools/sizing.ts [connections=4000] [workers=2]
 *
 * Loopback only; the connections are opened in batches and closed at the end.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import WebSocket from 'ws';

const ROOT = path.join(__dirname, '..', '..');
const connections = Number(process.argv[2] ?? 4000);
const workers = Number(process.argv[3] ?? 2);

interface ProcessEntry {
  readonly kind: string;
  readonly pid: number;
  readonly name?: string;
  readonly id?: number;
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

async function processes(port: number): Promise<ProcessEntry[]> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  return ((await response.json()) as { processes: ProcessEntry[] }).processes;
}

function sample(entries: readonly ProcessEntry[]): Map<string, number> {
  return new Map(entries.map((entry) => [`${entry.kind}${entry.name === undefined ? '' : ` ${entry.name}`}${entry.id === undefined ? '' : ` ${entry.id}`}`, rssKiB(entry.pid)]));
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const cli = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'start', '--port', '0', '--host', '127.0.0.1', '--workers', String(workers), '--service', `echo=${path.join(ROOT, 'dist', 'services', 'examples', 'echo.js')}`, '--log-level', 'warn'], {
    env: { ...process.env, SWITCHYARD_MAX_CONNECTIONS_PER_IP: String(connections), SWITCHYARD_HEARTBEAT_INTERVAL: '0' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    cli.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on http:\/\/[^:]+:(\d+) /.exec(out);
      if (match !== null) resolve(Number(match[1]));
    });
    cli.once('exit', (code) => reject(new Error(`the CLI exited with ${code}`)));
  });
  const entries = await processes(port);
  await settle(2000);
  const idle = sample(entries);
  const sockets: WebSocket[] = [];
  for (let opened = 0; opened < connections; opened += 200) {
    const batch = Array.from({ length: Math.min(200, connections - opened) }, () => new WebSocket(`ws://127.0.0.1:${port}/echo`));
    await Promise.all(batch.map((socket) => new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))));
    sockets.push(...batch);
  }
  await settle(2000);
  const held = sample(entries);
  console.log(`node ${process.version}, ${workers} workers, ${connections} idle connections to /echo`);
  console.log('| process | RSS idle | RSS with the connections |');
  console.log('| --- | --- | --- |');
  let before = 0;
  let after = 0;
  for (const [name, kib] of idle) {
    const withConnections = held.get(name) ?? NaN;
    before += kib;
    after += withConnections;
    console.log(`| ${name} | ${(kib / 1024).toFixed(1)} MiB | ${(withConnections / 1024).toFixed(1)} MiB |`);
  }
  console.log(`| cluster | ${(before / 1024).toFixed(1)} MiB | ${(after / 1024).toFixed(1)} MiB |`);
  console.log(`RSS per idle connection (cluster): ${(((after - before) * 1024) / connections / 1024).toFixed(1)} KiB`);
  for (const socket of sockets) socket.terminate();
  cli.kill('SIGTERM');
  await new Promise((resolve) => cli.once('exit', resolve));
}

void main();

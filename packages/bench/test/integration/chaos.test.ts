/**
 * `--chaos` against a real server started by the CLI (the master must be a
 * process of its own: a reload is its SIGHUP), one event of each kind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { benchOptions, runBench } from '../../src';
import { parseChaos } from '../../src/chaos/plan';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
// The built service (npm run build): a .ts one would be compiled by ts-node in every new service process,
// which under load made the reload's new instance slow enough to push the later events out of the run.
const CHAOS_ECHO = path.join(__dirname, '..', '..', 'dist', 'suite', 'services', 'chaos-echo.js');

let server: ChildProcess | undefined;
let folder: string | undefined;

afterEach(async () => {
  const child = server;
  server = undefined;
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  folder = undefined;
});

/** Starts `switchyard start` on a free port with the chaos echo service; resolves with the port. */
async function startServer(): Promise<number> {
  folder = mkdtempSync(path.join(os.tmpdir(), 'sy-chaos-'));
  const config = path.join(folder, 'config.json');
  // No per-client rate limit (the bench exceeds it); fast restarts.
  writeFileSync(config, JSON.stringify({ maxMessagesPerSecond: 0, restartDelay: 50, services: { echo: CHAOS_ECHO } }));
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--log-level', 'warn', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  server = child;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match !== null) resolve(Number(match[1]));
    });
  });
}

test('a short chaos bench: a reload, a service SIGKILL and a worker SIGKILL, each recovered, nothing lost, reordered or duplicated unmarked', async () => {
  const port = await startServer();
  const url = `ws://127.0.0.1:${port}/echo`;
  // Exactly three events, 1.5 s apart, each once the one before recovered (a reload takes 1.8 s on a quiet
  // machine, over 7 s was seen under load): the load lasts until the last one is 1.5 s behind.
  const chaos = parseChaos({ chaos: 'reload,service,worker', interval: '1.5s', events: '3' }, url);
  const result = await runBench(benchOptions({ scenario: 'echo', url, connections: 20, inflight: 2, duration: 3, warmup: 0.2, ...(chaos === undefined ? {} : { chaos }) }));
  const report = result.chaos;
  if (report === undefined) throw new Error('no chaos report');
  const events = report.events ?? [];
  expect(events.map((event) => [event.kind, event.error])).toEqual([['reload', undefined], ['service', undefined], ['worker', undefined]]);
  for (const event of events) expect(event.recoveredMs).toBeGreaterThan(0);
  expect(report.total).toMatchObject({ lost: 0, reordered: 0, duplicatesUnmarked: 0, unsolicited: 0 });
  // Each event happened to the load: after it, messages were still answered; the worker kill and the
  // reload closed connections (1006, 1012), which the generator reopened.
  for (const event of events) expect(report.damage[event.index]?.answered).toBeGreaterThan(0);
  // At least every connection once: one that reconnected to the worker replaced second is closed again.
  expect(report.damage[1]?.disconnects).toBeGreaterThanOrEqual(20);
  expect(report.damage[3]?.disconnects).toBeGreaterThan(0);
  expect(report.total.reconnects).toBe(report.total.disconnects);
  expect(Object.keys(result.closeCodes).sort()).toEqual(['1006', '1012']);
  expect(result.closeCodes[1012]).toBeGreaterThanOrEqual(20);
  expect(result.errors).toEqual({});
}, 40_000);

/**
 * The soak (`npm run soak`, not part of `npm test`): a Switchyard server
 * started by its CLI (2 workers, the chaos echo and soak fan-out services) under
 * mixed traffic for `--duration` (default 30 minutes) — numbered echo, fan-out
 * to one topic, connection churn and HTTP requests to a service — while the
 * chaos controller SIGKILLs a service instance every `--chaos-interval`
 * (default 60 s; echo and fanout in turn) and makes every `--reload-every`-th
 * event (default 5th) a rolling reload (SIGHUP). Samples the RSS of every
 * server process every `--sample` (default 10 s). Writes report.md, rss.csv,
 * result.json and server.log into `--out` (default a new folder under the
 * system's temp folder) and prints the report.
 *
 * Pass: no echo message lost, reordered or duplicated unmarked; no fan-out
 * delivery missed (other than messages cut by the publisher's own disconnect),
 * reordered or duplicated unmarked; no churn connection lost; every chaos
 * event recovered; and RSS flat after warm-up: over the judged window (the
 * last 10 minutes, or the last third of a shorter run) no role's least-squares
 * RSS slope exceeds `RSS_SLOPE_LIMIT_MB` per 10 minutes, nor the server total's.
 * Exit status 0 on a pass, 1 otherwise, 2 for bad flags.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ChaosController, type ChaosEventRecord } from '../../src/chaos/controller';
import { fetchHealth } from '../../src/chaos/health';
import { parseDuration, type ChaosKind, type ChaosPlan } from '../../src/chaos/plan';
import { chaosPassed } from '../../src/chaos/report';
import { localControl } from '../../src/control';
import { summarize } from '../../src/histogram';
import { benchOptions } from '../../src/options';
import { mergeResults } from '../../src/result';
import { runShard } from '../../src/run-shard';
import { ChurnLoad } from './churn-load';
import { FanoutLoad } from './fanout-load';
import { HttpLoad } from './http-load';
import type { Phase } from './phase';
import { formatSoakReport, minutes, soakPassed, type SoakResult } from './soak-report';
import { rssCsv, sampleRss, type RssSample } from './rss';

const extension = path.extname(__filename);
const SERVICES = path.join(__dirname, '..', 'services');
const CLI = path.join(path.dirname(require.resolve('switchyard/package.json')), 'dist', 'cli.js');
const DRAIN_MS = 15_000;

export const SOAK_HELP = `Usage: npm run soak -- [flags]   (node packages/bench/dist/suite/soak/soak.js [flags])

Starts a server with the CLI and runs mixed traffic under chaos; see docs/bench.md.

  --duration <time>            how long (default 30m; e.g. 2m, 90s)
  --chaos-interval <time>      between chaos events (default 60s)
  --reload-every <n>           every n-th event is a rolling reload, the others service
                               SIGKILLs, echo and fanout in turn (default 5; 0: no reload)
  --sample <time>              RSS sampling period (default 10s)
  --workers <n>                server workers (default 2)
  --echo-connections <n>       numbered echo connections (default 200)
  --echo-rate <n>              echo msgs/s in total (default 2000)
  --fanout-subscribers <n>     fan-out subscribers (default 100)
  --fanout-rate <n>            publisher msgs/s (default 20)
  --churn-rate <n>             connections opened (one echo each) and closed per second (default 10)
  --http-rate <n>              POST /services/echo per second (default 50)
  --out <dir>                  where report.md, rss.csv, result.json and server.log go
                               (default: a new folder under the temp folder)
  -h, --help                   this text

Exit status: 0 on a pass, 1 otherwise, 2 for bad flags.`;

function flags(argv: readonly string[]): SoakFlags | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      duration: { type: 'string' },
      'chaos-interval': { type: 'string' },
      'reload-every': { type: 'string' },
      sample: { type: 'string' },
      workers: { type: 'string' },
      'echo-connections': { type: 'string' },
      'echo-rate': { type: 'string' },
      'fanout-subscribers': { type: 'string' },
      'fanout-rate': { type: 'string' },
      'churn-rate': { type: 'string' },
      'http-rate': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const count = (name: string, fallback: number, min = 0, max = 100_000): number => {
    const value = values[name as keyof typeof values];
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (typeof value !== 'string' || !/^\d+$/.test(value) || parsed < min || parsed > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${String(value)}"`);
    return parsed;
  };
  return {
    durationMs: parseDuration('duration', values.duration ?? '30m'),
    intervalMs: parseDuration('chaos-interval', values['chaos-interval'] ?? '60s'),
    reloadEvery: count('reload-every', 5),
    sampleMs: parseDuration('sample', values.sample ?? '10s'),
    workers: count('workers', 2, 1, 64),
    echoConnections: count('echo-connections', 200, 1),
    echoRate: count('echo-rate', 2000, 1),
    fanoutSubscribers: count('fanout-subscribers', 100, 1),
    fanoutRate: count('fanout-rate', 20, 1),
    churnRate: count('churn-rate', 10),
    httpRate: count('http-rate', 50),
    out: values.out ?? mkdtempSync(path.join(os.tmpdir(), 'switchyard-soak-')),
  };
}

export interface SoakFlags {
  readonly durationMs: number;
  readonly intervalMs: number;
  /** Every n-th chaos event is a reload (0: none). */
  readonly reloadEvery: number;
  readonly sampleMs: number;
  readonly workers: number;
  readonly echoConnections: number;
  readonly echoRate: number;
  readonly fanoutSubscribers: number;
  readonly fanoutRate: number;
  readonly churnRate: number;
  readonly httpRate: number;
  readonly out: string;
}

/** The chaos rotation: service kills, every `reloadEvery`-th event a reload. */
export function soakKinds(reloadEvery: number): ChaosKind[] {
  if (reloadEvery <= 1) return reloadEvery === 1 ? ['reload'] : ['service'];
  return [...Array.from({ length: reloadEvery - 1 }, (): ChaosKind => 'service'), 'reload'];
}

function startServer(options: SoakFlags, log: NodeJS.WritableStream): Promise<{ child: ChildProcess; port: number }> {
  const config = path.join(options.out, 'config.json');
  writeFileSync(config, JSON.stringify({
    // The soak's clients send faster than the default per-client rate limit allows, from few addresses.
    maxMessagesPerSecond: 0,
    services: { echo: path.join(SERVICES, `chaos-echo${extension}`), fanout: path.join(SERVICES, `soak-fanout${extension}`) },
  }, null, 2));
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--workers', String(options.workers), '--log-level', 'warn', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.pipe(log, { end: false });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the server exited (${signal ?? code}) before it listened; see ${options.out}/server.log`)));
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match !== null) resolve({ child, port: Number(match[1]) });
    });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

export async function runSoak(options: SoakFlags): Promise<SoakResult> {
  mkdirSync(options.out, { recursive: true });
  const log = createWriteStream(path.join(options.out, 'server.log'));
  const { child, port } = await startServer(options, log);
  const base = `127.0.0.1:${port}`;
  const phase: Phase = { index: 0 };
  const plan: ChaosPlan = { kinds: soakKinds(options.reloadEvery), intervalMs: options.intervalMs, services: ['echo', 'fanout'], healthUrl: `http://${base}/healthz`, events: 0 };
  const controller = new ChaosController(plan, (index) => {
    phase.index = index;
  });
  const samples: RssSample[] = [];
  try {
    await controller.preflight();
    const fanout = new FanoutLoad({ url: `ws://${base}/fanout`, subscribers: options.fanoutSubscribers, rate: options.fanoutRate, size: 64, sourceBase: 100 }, phase);
    const churn = new ChurnLoad(`ws://${base}/echo`, options.churnRate, 200, phase);
    const httpLoad = new HttpLoad(`http://${base}/services/echo`, options.httpRate, phase);
    await fanout.start();
    const started = performance.now();
    const sample = async (): Promise<void> => {
      try {
        const entry = sampleRss(await fetchHealth(plan.healthUrl), performance.now() - started, phase.index);
        samples.push(entry);
        const cells = Object.entries(entry.rss).map(([role, bytes]) => `${role} ${mb(bytes)}`).join(', ');
        process.stdout.write(`[soak] t=${(entry.tMs / 1000).toFixed(0)}s event=${entry.event} rss MB: ${cells}\n`);
      } catch (error) {
        process.stdout.write(`[soak] t=${((performance.now() - started) / 1000).toFixed(0)}s rss sample failed: ${(error as Error).message}\n`);
      }
    };
    await sample();
    const sampler = setInterval(() => void sample(), options.sampleMs);
    churn.start();
    httpLoad.start();
    controller.start(options.durationMs);
    const echoOptions = benchOptions({
      scenario: 'echo',
      url: `ws://${base}/echo`,
      connections: options.echoConnections,
      rate: options.echoRate,
      duration: options.durationMs / 1000,
      warmup: 0,
      chaos: plan,
    });
    const echoShard = await runShard(echoOptions, { index: 0, first: 0, count: options.echoConnections }, localControl(undefined, undefined, undefined, () => phase.index, () => controller.finished));
    const events: readonly ChaosEventRecord[] = await controller.stop();
    await Promise.all([fanout.stop(DRAIN_MS), churn.stop(DRAIN_MS), httpLoad.stop(DRAIN_MS)]);
    clearInterval(sampler);
    await sample();
    const echo = mergeResults([echoShard]);
    if (echo.chaos === undefined) throw new Error('the echo load ran without chaos accounting');
    return {
      options,
      events,
      echo: { ...echo.chaos, events },
      echoErrors: echo.errors,
      fanout: Array.from({ length: Math.max(fanout.counts.length, events.length + 1) }, (_, i) => fanout.counts.at(i)),
      fanoutLatencyUs: summarize(fanout.histogram),
      fanoutMissed: fanout.missedDetail(),
      churn: Array.from({ length: Math.max(churn.counts.length, events.length + 1) }, (_, i) => churn.counts.at(i)),
      churnLatencyUs: summarize(churn.histogram),
      churnRefusals: churn.refusals,
      http: Array.from({ length: Math.max(httpLoad.counts.length, events.length + 1) }, (_, i) => httpLoad.counts.at(i)),
      httpLatencyUs: summarize(httpLoad.histogram),
      samples,
    };
  } finally {
    await stopServer(child);
    log.end();
  }
}

async function main(): Promise<number> {
  let parsed: SoakFlags | 'help';
  try {
    parsed = flags(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`soak: ${(error as Error).message}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(`${SOAK_HELP}\n`);
    return 0;
  }
  const options = parsed;
  process.stdout.write(`[soak] ${minutes(options.durationMs)} min, chaos every ${options.intervalMs / 1000} s (${soakKinds(options.reloadEvery).join(',')}), output in ${options.out}\n`);
  const result = await runSoak(options);
  const report = formatSoakReport(result);
  writeFileSync(path.join(options.out, 'report.md'), `${report}\n`);
  writeFileSync(path.join(options.out, 'rss.csv'), rssCsv(result.samples));
  writeFileSync(path.join(options.out, 'result.json'), JSON.stringify(result, null, 2));
  process.stdout.write(`${report}\n`);
  return soakPassed(result) && chaosPassed(result.echo) ? 0 : 1;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (error: unknown) => {
    process.stderr.write(`soak failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

/**
 * The suite's scenarios: how each one loads a target and which figures it
 * reads off the run. Every run gets a fresh target process tree.
 */
import autocannon from 'autocannon';
import { benchOptions, runBench, type BenchOptions, type BenchResult } from '../src';
import { DEFAULT_PER_ADDRESS } from '../src/options';
import { addressesNeeded } from '../src/source-address';
import { LARGE_CASES, LARGE_MAX_PAYLOAD, QUICK_LARGE_CASES, largeEcho, type LargeCase } from './large-messages';
import { BENCH_JWT_SECRET, JWT_SECRET_ENV, benchToken, benchTokens } from './jwt-token';
import { isSocketIo, type Target, type TargetKind } from './targets';
import { TLS_CERT_ENV } from './tls-cert';

export type Figures = Record<string, number>;

export interface RunOutcome {
  readonly figures: Figures;
  /** Server CPU seconds over the measured part of the run, all processes summed. */
  readonly cpuSeconds: number;
  /** Server RSS (all processes) at the end of the measured part. */
  readonly rssBytes: number;
  /** Failures seen by the generator, by reason; empty when none. */
  readonly errors: Readonly<Record<string, number>>;
  /** Set when the target cannot do this at all (for example a missing endpoint). */
  readonly unavailable?: string;
}

export interface SideSpec {
  readonly kind: TargetKind;
  readonly label: string;
  readonly workers?: number;
  /** Added to the target's environment (the instances scenario sets the CPU-bound service's instance count). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RowSpec {
  readonly label: string;
  readonly figure: string;
  /**
   * 'min': ratio must be at least `target`; 'max': at most; 'pass': Switchyard
   * alone, its figure must equal `target`; 'under': Switchyard alone, its
   * figure must be at most `target` (an absolute bound, such as a time);
   * 'info': the ratio is shown and judged by nobody (`target` unused).
   */
  readonly goal: 'min' | 'max' | 'pass' | 'under' | 'info';
  readonly target: number;
  readonly unit: string;
  /** Also required for "met": no generator errors on the Switchyard side. */
  readonly zeroFailures?: boolean;
}

export interface SuiteScenario {
  readonly name: string;
  readonly switchyard: SideSpec;
  readonly baseline?: SideSpec;
  /** The Socket.IO cluster, run only with `--socketio`; the same `run` loads it with Socket.IO framing. */
  readonly socketio?: SideSpec;
  readonly rows: readonly RowSpec[];
  run(target: Target, sourceBase: number): Promise<RunOutcome>;
  /** False for a scenario that does not speak WebSocket (skipped by `--tls`). */
  readonly overWebSocket?: false;
  /** Source addresses a run uses, so the next run starts on fresh ones (no TIME_WAIT collisions). */
  readonly addresses: number;
}

export interface SuiteSizes {
  readonly duration: number;
  readonly warmup: number;
  readonly fanoutSubscribers: number;
  readonly idleConnections: number;
  readonly capacityConnections: number;
  readonly stormConnections: number;
  /** The large-message scenario's sizes and round trips. */
  readonly largeCases: readonly LargeCase[];
}

export const FULL_SIZES: SuiteSizes = { duration: 5, warmup: 1, fanoutSubscribers: 2000, idleConnections: 15_000, capacityConnections: 60_000, stormConnections: 5000, largeCases: LARGE_CASES };
export const QUICK_SIZES: SuiteSizes = { duration: 1, warmup: 0.5, fanoutSubscribers: 500, idleConnections: 2000, capacityConnections: 5000, stormConnections: 1000, largeCases: QUICK_LARGE_CASES };

const SETTLE_MS = 1000;
const MEMORY_SETTLE_MS = 2000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a run charges for server cost: a target's process tree, or (`--nats`) two nodes and nats-server. */
export interface Meter {
  cpuSeconds(): number;
  rssBytes(): number;
}

/** The target's CPU over a measured window and its RSS at the window's end, from the generator's window events. */
class WindowMeter {
  private cpuStart = 0;
  private cpuEnd = 0;
  rssBytes = 0;
  readonly onWindow = (phase: 'start' | 'end'): void => {
    if (phase === 'start') {
      this.cpuStart = this.target.cpuSeconds();
    } else {
      this.cpuEnd = this.target.cpuSeconds();
      this.rssBytes = this.target.rssBytes();
    }
  };

  constructor(private readonly target: Meter) {}

  get cpuSeconds(): number {
    return this.cpuEnd - this.cpuStart;
  }
}

/** Runs a message scenario and charges the target for CPU over exactly the measured window. */
export async function messageRun(target: Meter, options: BenchOptions, figures: (result: BenchResult, cpuSeconds: number) => Figures): Promise<RunOutcome> {
  const meter = new WindowMeter(target);
  const result = await runBench(options, { onWindow: meter.onWindow });
  return { figures: figures(result, meter.cpuSeconds), cpuSeconds: meter.cpuSeconds, rssBytes: meter.rssBytes, errors: result.errors };
}

/**
 * Where the generator connects and how it frames messages: `path` on a
 * WebSocket target, the Socket.IO endpoint (`/socket.io/`) with Socket.IO
 * framing on a Socket.IO one.
 */
function endpoint(target: Target, path: string): Pick<BenchOptions, 'url' | 'protocol'> {
  if (isSocketIo(target.kind)) return { url: `ws://127.0.0.1:${target.port}/`, protocol: 'socketio' };
  // --tls (suite.ts): the targets serve wss:// with the run's certificate.
  const scheme = process.env[TLS_CERT_ENV] === undefined ? 'ws' : 'wss';
  return { url: `${scheme}://127.0.0.1:${target.port}${path}`, protocol: 'ws' };
}

export function suiteScenarios(sizes: SuiteSizes): SuiteScenario[] {
  const { duration, warmup } = sizes;
  const sy: SideSpec = { kind: 'switchyard', label: 'Switchyard (2 workers)' };
  const sioEcho: SideSpec = { kind: 'socketio-echo', label: 'Socket.IO cluster (2 workers)' };
  const sioFanout: SideSpec = { kind: 'socketio-fanout', label: 'Socket.IO cluster (2 workers)' };
  return [
    {
      name: 'echo 100 conns × 10 in flight, 64-byte JSON',
      switchyard: sy,
      baseline: { kind: 'ws-echo', label: 'ws, 1 process' },
      socketio: sioEcho,
      addresses: 1,
      rows: [
        { label: 'echo through a service, 100 conns × 10 in flight, 64-byte JSON', figure: 'msgsPerSec', goal: 'min', target: 1.0, unit: 'msgs/s' },
        { label: 'server CPU per echoed message, all processes summed', figure: 'cpuUsPerMsg', goal: 'max', target: 1.0, unit: 'µs CPU/msg' },
      ],
      run: (target, sourceBase) => messageRun(target, benchOptions({ scenario: 'echo', ...endpoint(target, '/echo'), connections: 100, inflight: 10, duration, warmup, sourceBase }),
        (result, cpu) => ({ msgsPerSec: result.messagesPerSecond, cpuUsPerMsg: result.messages > 0 ? (cpu * 1e6) / result.messages : 0, p99Ms: result.latencyUs.p99 / 1000 })),
    },
    {
      name: 'echo at a fixed 10,000 msgs/s, 200 conns',
      switchyard: sy,
      baseline: { kind: 'ws-echo', label: 'ws, 1 process' },
      socketio: sioEcho,
      addresses: 1,
      rows: [{ label: 'p99 latency at a fixed 10,000 msgs/s, 200 conns', figure: 'p99Ms', goal: 'max', target: 1.5, unit: 'ms p99' }],
      run: (target, sourceBase) => messageRun(target, benchOptions({ scenario: 'echo', ...endpoint(target, '/echo'), connections: 200, rate: 10_000, duration, warmup, sourceBase }),
        // CPU per message at a fixed rate: both sides do the same work in the same batches, so this is the steadier A/B figure.
        (result, cpu) => ({ p99Ms: result.latencyUs.p99 / 1000, p50Ms: result.latencyUs.p50 / 1000, msgsPerSec: result.messagesPerSecond, cpuUsPerMsg: result.messages > 0 ? (cpu * 1e6) / result.messages : 0 })),
    },
    {
      name: `fan-out to ${sizes.fanoutSubscribers} subscribers`,
      switchyard: sy,
      baseline: { kind: 'ws-fanout', label: 'ws, 1 process' },
      socketio: sioFanout,
      addresses: addressesNeeded(sizes.fanoutSubscribers, DEFAULT_PER_ADDRESS),
      rows: [{ label: `fan-out: one topic, ${sizes.fanoutSubscribers.toLocaleString('en-US')} subscribers, deliveries/s`, figure: 'deliveriesPerSec', goal: 'min', target: 1.0, unit: 'deliveries/s' }],
      // The publisher keeps one message in flight: its own copy coming back paces it.
      run: (target, sourceBase) => messageRun(target, benchOptions({ scenario: 'fanout', ...endpoint(target, '/fanout'), connections: sizes.fanoutSubscribers, inflight: 1, duration, warmup, sourceBase }),
        (result) => ({ deliveriesPerSec: result.messagesPerSecond, missed: result.missed, p99Ms: result.latencyUs.p99 / 1000 })),
    },
    {
      name: `fan-out capacity, ${sizes.fanoutSubscribers} subscribers, open loop`,
      switchyard: sy,
      baseline: { kind: 'ws-fanout', label: 'ws, 1 process' },
      socketio: sioFanout,
      addresses: addressesNeeded(sizes.fanoutSubscribers, DEFAULT_PER_ADDRESS) * CAPACITY_MAX_RUNS,
      rows: [
        {
          label: `fan-out capacity: the highest publish rate (doubling from ${Math.max(1, Math.round(CAPACITY_START_DELIVERIES / sizes.fanoutSubscribers))}/s, then one step of ×1.5) at which every one of ${sizes.fanoutSubscribers.toLocaleString('en-US')} subscribers gets every message with p99 under ${CAPACITY_P99_MS} ms`,
          figure: 'capacityPerSec',
          goal: 'min',
          target: 1.0,
          unit: 'publishes/s',
        },
      ],
      run: (target, sourceBase) => fanoutCapacity(target, sourceBase, sizes),
    },
    {
      name: `idle connections, memory: ${sizes.idleConnections} held`,
      switchyard: sy,
      baseline: { kind: 'ws-echo', label: 'ws, 1 process' },
      socketio: sioEcho,
      addresses: addressesNeeded(sizes.idleConnections, DEFAULT_PER_ADDRESS),
      rows: [{ label: `idle connections, memory: ${sizes.idleConnections.toLocaleString('en-US')} held by each side; RSS per conn (settled, no forced GC)`, figure: 'rssKiBPerConn', goal: 'max', target: 1.1, unit: 'KiB/conn' }],
      run: async (target, sourceBase) => {
        await sleep(SETTLE_MS);
        const before = target.rssBytes();
        let held = 0, cpuHeld = 0;
        const cpuStart = target.cpuSeconds();
        let sampled: Promise<void> = Promise.resolve();
        const result = await runBench(benchOptions({ scenario: 'connect', ...endpoint(target, '/echo'), connections: sizes.idleConnections, hold: MEMORY_SETTLE_MS / 1000 + 2, sourceBase }), {
          onHeld: () => {
            sampled = sleep(MEMORY_SETTLE_MS).then(() => {
              held = target.rssBytes();
              cpuHeld = target.cpuSeconds();
            });
          },
        });
        await sampled;
        const perConn = result.opened > 0 ? (held - before) / result.opened / 1024 : 0;
        return { figures: { rssKiBPerConn: perConn, opened: result.opened }, cpuSeconds: cpuHeld - cpuStart, rssBytes: held, errors: result.errors };
      },
    },
    {
      name: `idle connections, capacity: ${sizes.capacityConnections} held with 4 workers`,
      switchyard: { kind: 'switchyard', label: 'Switchyard (4 workers)', workers: 4 },
      addresses: addressesNeeded(sizes.capacityConnections, DEFAULT_PER_ADDRESS),
      rows: [{ label: `idle connections, capacity: ${sizes.capacityConnections.toLocaleString('en-US')} held with 4 workers, zero failures`, figure: 'opened', goal: 'pass', target: sizes.capacityConnections, unit: 'held' }],
      run: async (target, sourceBase) => {
        const cpuStart = target.cpuSeconds();
        let rss = 0, cpuHeld = 0;
        let sampled: Promise<void> = Promise.resolve();
        const result = await runBench(benchOptions({ scenario: 'connect', ...endpoint(target, '/echo'), connections: sizes.capacityConnections, hold: 3, sourceBase, connectTimeout: 30 }), {
          onHeld: () => {
            sampled = sleep(1000).then(() => {
              rss = target.rssBytes();
              cpuHeld = target.cpuSeconds();
            });
          },
        });
        await sampled;
        return { figures: { opened: result.opened, connectsPerSec: result.connectsPerSecond }, cpuSeconds: cpuHeld - cpuStart, rssBytes: rss, errors: result.errors };
      },
    },
    {
      name: `connect storm, ${sizes.stormConnections} connections`,
      switchyard: sy,
      baseline: { kind: 'ws-echo', label: 'ws, 1 process' },
      socketio: sioEcho,
      addresses: addressesNeeded(sizes.stormConnections, DEFAULT_PER_ADDRESS),
      rows: [{ label: `connect storm, ${sizes.stormConnections.toLocaleString('en-US')} connections, connects/s`, figure: 'connectsPerSec', goal: 'min', target: 0.8, unit: 'connects/s', zeroFailures: true }],
      run: (target, sourceBase) => stormRun(target, sourceBase, sizes.stormConnections),
    },
    {
      // The service is the ceiling here (a fixed ~50 µs of CPU per message): 2 instances on 2 cores should lift it.
      name: 'instances: CPU-bound echo, 2 instances vs 1',
      switchyard: { kind: 'switchyard', label: 'Switchyard, service × 2 instances', env: { SWITCHYARD_BENCH_CPU_INSTANCES: '2' } },
      baseline: { kind: 'switchyard', label: 'Switchyard, service × 1 instance', env: { SWITCHYARD_BENCH_CPU_INSTANCES: '1' } },
      addresses: 1,
      rows: [{ label: 'echo through a service doing ~50 µs of CPU per message, 2 instances against 1 (100 conns × 10 in flight)', figure: 'msgsPerSec', goal: 'min', target: 1.6, unit: 'msgs/s' }],
      run: (target, sourceBase) => messageRun(target, benchOptions({ scenario: 'echo', ...endpoint(target, '/cpuecho'), connections: 100, inflight: 10, duration, warmup, sourceBase }),
        (result, cpu) => ({ msgsPerSec: result.messagesPerSecond, cpuUsPerMsg: result.messages > 0 ? (cpu * 1e6) / result.messages : 0 })),
    },
    largeScenario(sizes.largeCases),
    {
      // Both sides Switchyard, the same URLs with tokens (one per storm connection); only the JWT side verifies them (at each upgrade: the echo after it pays nothing).
      name: 'jwt: connect storm and echo with the JWT authenticator, against the same run without it',
      switchyard: { kind: 'switchyard', label: 'Switchyard, jwt (HS256)', env: { [JWT_SECRET_ENV]: BENCH_JWT_SECRET } },
      baseline: { kind: 'switchyard', label: 'Switchyard, no authenticator' },
      addresses: addressesNeeded(sizes.stormConnections, DEFAULT_PER_ADDRESS) + 1,
      rows: [
        { label: `JWT authenticator on: connect storm, ${sizes.stormConnections.toLocaleString('en-US')} connections, against the same without it`, figure: 'connectsPerSec', goal: 'min', target: 0.8, unit: 'connects/s', zeroFailures: true },
        { label: 'JWT authenticator on: server CPU per new connection, against the same without it', figure: 'cpuUsPerConnect', goal: 'max', target: 1.25, unit: 'µs CPU/connect' },
        { label: 'JWT authenticator on: echo, 100 conns × 10 in flight, against the same without it', figure: 'msgsPerSec', goal: 'min', target: 0.8, unit: 'msgs/s' },
      ],
      run: async (target, sourceBase) => {
        const query = `?token=${benchToken()}`;
        const storm = await stormRun(target, sourceBase, sizes.stormConnections, benchTokens(sizes.stormConnections).map((token) => `?token=${token}`));
        const echo = await messageRun(target, benchOptions({ scenario: 'echo', ...endpoint(target, `/echo${query}`), connections: 100, inflight: 10, duration, warmup, sourceBase: sourceBase + addressesNeeded(sizes.stormConnections, DEFAULT_PER_ADDRESS) }),
          (result, cpu) => ({ msgsPerSec: result.messagesPerSecond, cpuUsPerMsg: result.messages > 0 ? (cpu * 1e6) / result.messages : 0 }));
        const errors: Record<string, number> = { ...storm.errors };
        for (const [reason, count] of Object.entries(echo.errors)) errors[`echo ${reason}`] = count;
        return { figures: { ...storm.figures, ...echo.figures }, cpuSeconds: storm.cpuSeconds + echo.cpuSeconds, rssBytes: echo.rssBytes, errors };
      },
    },
    {
      name: 'HTTP POST /services/echo (autocannon)',
      overWebSocket: false,
      switchyard: sy,
      baseline: { kind: 'http-echo', label: 'node:http, 1 process' },
      addresses: 0,
      rows: [{ label: 'HTTP requests to a service (autocannon, 50 conns, body "hello")', figure: 'reqPerSec', goal: 'min', target: 0.8, unit: 'req/s' }],
      run: (target) => httpRun(target, duration),
    },
  ];
}

/**
 * Opens `connections` as fast as the generator can (to /echo; with `queries`,
 * connection i's URL ends with `queries[i % queries.length]`), holds them
 * briefly; CPU up to the moment all are open.
 */
async function stormRun(target: Target, sourceBase: number, connections: number, queries: readonly string[] = []): Promise<RunOutcome> {
  const cpuStart = target.cpuSeconds();
  let rss = 0, cpuHeld = 0;
  const echo = endpoint(target, '/echo');
  const spread = queries.length === 0 ? undefined : queries.map((query) => `${echo.url}${query}`);
  const result = await runBench(benchOptions({ scenario: 'connect', ...echo, connections, hold: 0.5, sourceBase, ...(spread === undefined ? {} : { spread }) }), {
    onHeld: () => {
      rss = target.rssBytes();
      cpuHeld = target.cpuSeconds();
    },
  });
  const cpuSeconds = cpuHeld - cpuStart;
  const cpuUsPerConnect = result.opened > 0 ? (cpuSeconds * 1e6) / result.opened : 0;
  return { figures: { connectsPerSec: result.connectsPerSecond, opened: result.opened, cpuUsPerConnect }, cpuSeconds, rssBytes: rss, errors: result.errors };
}

/**
 * The capacity search's first rate, in deliveries/s (divided by the
 * subscribers: 5 publishes/s to 2,000), its bound on p99, and the most runs
 * it makes. Well under what either side carries, so that the doubling finds
 * the limit rather than starting past it (one process delivers about 100,000/s here).
 */
const CAPACITY_START_DELIVERIES = 10_000;
const CAPACITY_P99_MS = 50;
const CAPACITY_MAX_RUNS = 8;

/**
 * Open loop: the publisher sends at a fixed rate whatever comes back. A rate
 * holds when nothing is missed, the generator saw no error, p99 delivery
 * latency stays under CAPACITY_P99_MS and the subscribers got at least 95 %
 * of what the schedule asked for (a generator that fell behind its own
 * schedule measured less than the rate). The rate doubles while it holds;
 * after the first that does not, one step between (×1.5 the last good one).
 * Each run connects its subscribers afresh, on source addresses of its own.
 */
async function fanoutCapacity(target: Target, sourceBase: number, sizes: SuiteSizes): Promise<RunOutcome> {
  const subscribers = sizes.fanoutSubscribers;
  const perRun = addressesNeeded(subscribers, DEFAULT_PER_ADDRESS);
  const duration = Math.min(sizes.duration, 3);
  let runs = 0, best = 0, failedAt = 0, failedWhy = 0;
  let bestOutcome: RunOutcome | undefined, firstOutcome: RunOutcome | undefined;
  const attempt = async (rate: number): Promise<boolean> => {
    const outcome = await messageRun(target, benchOptions({ scenario: 'fanout', ...endpoint(target, '/fanout'), connections: subscribers, rate, duration, warmup: sizes.warmup, sourceBase: sourceBase + runs * perRun }),
      (result) => ({ deliveriesPerSec: result.messagesPerSecond, missed: result.missed, p99Ms: result.latencyUs.p99 / 1000 }));
    runs++;
    firstOutcome ??= outcome;
    const figures = outcome.figures;
    const holds = (figures.missed ?? 1) === 0 && Object.keys(outcome.errors).length === 0 && (figures.p99Ms ?? Infinity) < CAPACITY_P99_MS && (figures.deliveriesPerSec ?? 0) >= 0.95 * rate * subscribers;
    if (holds && rate > best) {
      best = rate;
      bestOutcome = outcome;
    }
    if (!holds && failedAt === 0) {
      failedAt = rate;
      failedWhy = (figures.missed ?? 1) !== 0 ? 1 : Object.keys(outcome.errors).length > 0 ? 2 : (figures.p99Ms ?? Infinity) >= CAPACITY_P99_MS ? 3 : 4;
    }
    return holds;
  };
  let rate = Math.max(1, Math.round(CAPACITY_START_DELIVERIES / subscribers));
  while (runs < CAPACITY_MAX_RUNS - 1 && (await attempt(rate))) rate *= 2;
  if (best > 0 && runs < CAPACITY_MAX_RUNS) await attempt(best * 1.5);
  const shown = bestOutcome ?? (firstOutcome as RunOutcome);
  return {
    // failedWhy: 1 missed messages, 2 generator errors, 3 p99 over the bound, 4 fewer deliveries than the schedule asked.
    figures: { capacityPerSec: best, capacityDeliveriesPerSec: best * subscribers, p99Ms: bestOutcome?.figures.p99Ms ?? 0, runs, failedAt, failedWhy },
    cpuSeconds: shown.cpuSeconds,
    rssBytes: shown.rssBytes,
    // A run that failed is how the search ends, not an error of the row; a side that never held one rate reports that run's errors.
    errors: bestOutcome === undefined ? shown.errors : {},
  };
}

/** Sequential round trips of large text and binary messages on one connection (`--only large`). */
function largeScenario(cases: readonly LargeCase[]): SuiteScenario {
  const env = { SWITCHYARD_BENCH_MAX_PAYLOAD: String(LARGE_MAX_PAYLOAD) };
  const rows: RowSpec[] = [];
  for (const c of cases) {
    const size = c.bytes >= 1024 * 1024 ? `${c.bytes / 1024 / 1024} MiB` : `${c.bytes / 1024} KiB`;
    for (const kind of ['Text', 'Binary'] as const) {
      rows.push({ label: `large messages: ${size} ${kind.toLowerCase()} echo, ${c.count} sequential round trips, time per round trip`, figure: `${c.key}${kind}Ms`, goal: 'max', target: 1.3, unit: 'ms' });
    }
  }
  rows.push({ label: 'large messages: server CPU per MiB echoed, all processes summed', figure: 'cpuMsPerMiB', goal: 'max', target: 1.3, unit: 'ms CPU/MiB' });
  return {
    name: 'large messages, sequential echo',
    switchyard: { kind: 'switchyard', label: 'Switchyard (2 workers)', env },
    baseline: { kind: 'ws-echo', label: 'ws, 1 process', env },
    addresses: 1,
    rows,
    run: async (target) => {
      const meter = new WindowMeter(target);
      const figures = await largeEcho(`${endpoint(target, '/echo').url}`, cases, meter.onWindow);
      const cpuSeconds = meter.cpuSeconds;
      const mibEchoed = (figures.bytes ?? 0) / 1024 / 1024;
      return { figures: { ...figures, cpuMsPerMiB: mibEchoed > 0 ? (cpuSeconds * 1000) / mibEchoed : 0 }, cpuSeconds, rssBytes: meter.rssBytes, errors: {} };
    },
  };
}

function httpRun(target: Target, duration: number): Promise<RunOutcome> {
  return httpRunAt(target, `http://127.0.0.1:${target.port}/services/echo`, duration);
}

/** autocannon against `endpoint` (POST, body "hello", 50 connections) for `duration` s; CPU charged to `target`. */
export async function httpRunAt(target: Meter, endpoint: string, duration: number): Promise<RunOutcome> {
  const probe = await fetch(endpoint, { method: 'POST', body: 'hello' });
  await probe.arrayBuffer();
  if (probe.status === 404) {
    return { figures: {}, cpuSeconds: 0, rssBytes: target.rssBytes(), errors: {}, unavailable: `not available (POST /services/echo answered ${probe.status})` };
  }
  const cpuStart = target.cpuSeconds();
  const result = await autocannon({ url: endpoint, method: 'POST', body: 'hello', connections: 50, duration });
  const cpuSeconds = target.cpuSeconds() - cpuStart;
  const errors: Record<string, number> = {};
  if (result.errors > 0) errors.errors = result.errors;
  if (result.timeouts > 0) errors.timeouts = result.timeouts;
  if (result.non2xx > 0) errors.non2xx = result.non2xx;
  const cpuUsPerReq = result.requests.total > 0 ? (cpuSeconds * 1e6) / result.requests.total : 0;
  return { figures: { reqPerSec: result.requests.average, cpuUsPerReq, p99Ms: result.latency.p99 }, cpuSeconds, rssBytes: target.rssBytes(), errors };
}

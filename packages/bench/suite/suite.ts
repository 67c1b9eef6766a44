/**
 * `npm run bench`: runs every suite scenario against Switchyard and a baseline
 * in the same run, interleaved (A B A B …) with a fresh server per run, and
 * prints a markdown table of medians. Flags: --quick (one short round),
 * --rounds N, --only <text> (scenarios whose name contains it), --socketio
 * (a Socket.IO cluster as a third side where a scenario has one: Switchyard,
 * baseline, Socket.IO, … each round, with extra table columns), --tls (every
 * WebSocket scenario over wss://: Switchyard with `tls`, the ws baselines on
 * node:https, both with one certificate made for the run; see tls-cert.ts),
 * --nats (after the others, the rows of nodes joined through NATS:
 * nats/nats-scenarios.ts; they need nats-server on PATH and are skipped,
 * loudly, without it; `--nats --only NATS` runs them alone), --ws-client (the
 * plain rows loaded by the `ws` client, which --tls uses, instead of the lean
 * one: the plain and the TLS figures then come from one generator).
 * Exits non-zero only when a scenario could not run at all.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { parseArgs } from 'node:util';
import { BENCH_CLIENT_ENV } from '../src/connections';
import { runNatsPart } from './nats/nats-scenarios';
import { FULL_SIZES, QUICK_SIZES, suiteScenarios, type RunOutcome, type SuiteScenario } from './suite-scenarios';
import { tableHeader, tableLine, type SideRuns } from './suite-table';
import { Target } from './targets';
import { useTestCertificate } from './tls-cert';

interface MutableSide {
  label: string;
  outcomes: RunOutcome[];
  failures: string[];
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function machine(): string {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  return `${model}, ${availableParallelism()} cores, Node.js ${process.version}, Linux ${release()}`;
}

function summary(outcome: RunOutcome): string {
  if (outcome.unavailable !== undefined) return outcome.unavailable;
  const figures = Object.entries(outcome.figures).map(([key, value]) => `${key}=${Number.isInteger(value) ? value : value.toFixed(2)}`).join(' ');
  const errors = Object.keys(outcome.errors).length === 0 ? '' : ` errors=${JSON.stringify(outcome.errors)}`;
  return `${figures} cpu=${outcome.cpuSeconds.toFixed(2)}s rss=${(outcome.rssBytes / 1048576).toFixed(0)}MiB${errors}`;
}

async function runSide(scenario: SuiteScenario, side: 'switchyard' | 'baseline' | 'socketio', into: MutableSide, sourceBase: number, round: string): Promise<void> {
  const spec = side === 'switchyard' ? scenario.switchyard : side === 'baseline' ? scenario.baseline : scenario.socketio;
  if (spec === undefined) return;
  let target: Target | undefined;
  try {
    target = await Target.start(spec.kind, spec.workers ?? 2, spec.env);
    const outcome = await scenario.run(target, sourceBase);
    into.outcomes.push(outcome);
    log(`  ${round} ${spec.label}: ${summary(outcome)}`);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? String(error);
    into.failures.push(message);
    log(`  ${round} ${spec.label}: FAILED ${message}`);
  } finally {
    await target?.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, only: { type: 'string' }, socketio: { type: 'boolean' }, tls: { type: 'boolean' }, nats: { type: 'boolean' }, 'ws-client': { type: 'boolean' } },
  });
  const tls = values.tls === true;
  if (tls && values.socketio === true) throw new Error('--tls and --socketio do not go together: the Socket.IO cluster has no TLS here');
  const withNats = values.nats === true;
  if (tls && withNats) throw new Error('--tls and --nats do not go together: the NATS rows run over ws:// and plain NATS');
  // --ws-client: the plain rows loaded by the `ws` client, as the --tls rows are (compare the two with one client).
  const wsClient = values['ws-client'] === true;
  if (wsClient) process.env[BENCH_CLIENT_ENV] = 'ws';
  const quick = values.quick === true;
  const rounds = values.rounds !== undefined ? Number(values.rounds) : quick ? 1 : 3;
  const sizes = quick ? QUICK_SIZES : FULL_SIZES;
  // Over TLS only the WebSocket scenarios: autocannon's HTTP row would need a client of its own.
  const scenarios = suiteScenarios(sizes).filter((s) => (values.only === undefined || s.name.includes(values.only)) && (!tls || s.overWebSocket !== false));
  const certificate = tls ? useTestCertificate() : undefined;
  const started = Date.now();
  log(`switchyard bench suite: ${quick ? 'quick' : 'full'}, ${rounds} round(s), ${sizes.duration} s runs after ${sizes.warmup} s warm-up`);
  const withSocketIo = values.socketio === true;
  if (tls) log('--tls: WebSocket scenarios over wss://, Switchyard with options.tls and the ws baselines on node:https, one self-signed P-256 certificate');
  if (withSocketIo) log('--socketio: a Socket.IO cluster (2 workers, cluster adapter) runs as a third side where a scenario has one');

  const lines: string[] = [];
  let couldNotRun = 0;
  // Every run gets fresh source addresses, so TIME_WAIT sockets of the last run never collide with the next.
  let sourceBase = 0;
  for (const scenario of scenarios) {
    log(`${scenario.name}`);
    const sy: MutableSide = { label: scenario.switchyard.label, outcomes: [], failures: [] };
    const base: MutableSide | undefined = scenario.baseline === undefined ? undefined : { label: scenario.baseline.label, outcomes: [], failures: [] };
    const sio: MutableSide | undefined = !withSocketIo || scenario.socketio === undefined ? undefined : { label: scenario.socketio.label, outcomes: [], failures: [] };
    // Capacity has no baseline that could hold it (one process, 20,000 descriptors): one run is enough.
    const scenarioRounds = base === undefined ? 1 : rounds;
    for (let round = 1; round <= scenarioRounds; round++) {
      const label = `round ${round}/${scenarioRounds}`;
      await runSide(scenario, 'switchyard', sy, sourceBase, label);
      sourceBase += scenario.addresses + 1;
      if (base !== undefined) {
        await runSide(scenario, 'baseline', base, sourceBase, label);
        sourceBase += scenario.addresses + 1;
      }
      if (sio !== undefined) {
        await runSide(scenario, 'socketio', sio, sourceBase, label);
        sourceBase += scenario.addresses + 1;
      }
    }
    if (sy.outcomes.length === 0 || (base !== undefined && base.outcomes.length === 0) || (sio !== undefined && sio.outcomes.length === 0)) couldNotRun++;
    for (const row of scenario.rows) lines.push(tableLine(row, sy as SideRuns, base as SideRuns | undefined, withSocketIo, sio as SideRuns | undefined));
  }
  let natsNote: string | undefined;
  if (withNats) {
    const part = await runNatsPart({ quick, rounds, only: values.only, sourceBase, log });
    lines.push(...part.lines);
    couldNotRun += part.couldNotRun;
    natsNote = part.skipped ?? 'NATS rows: two nodes (1 worker each, every service on node a, node b workers only) on one local nats-server, started once; "Switchyard" is across nodes, "baseline" the same cluster with the client on node a; server CPU = both nodes\' process trees + nats-server. Failure timings: fresh nodes on a 3-server NATS cluster each round, default liveness (packages/bench/suite/nats/).';
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const out = [
    `Machine: ${machine()}`,
    `Run: ${new Date().toISOString()}, ${quick ? 'quick' : 'full'}, ${rounds} interleaved round(s) (Switchyard, baseline, ${withSocketIo ? 'Socket.IO, ' : ''}…; fresh server per run; medians), ${sizes.duration} s measured after ${sizes.warmup} s warm-up, took ${seconds} s`,
    'Baselines: single-process ws servers doing the same work (packages/bench/suite/baselines/); HTTP against a plain node:http echo. Server CPU = utime+stime of every server process from /proc over the measured window; RSS = summed VmRSS.',
    ...(withSocketIo ? ['Socket.IO cluster: socket.io with @socket.io/cluster-adapter, a node:cluster primary and 2 workers on one port, WebSocket transport only (packages/bench/suite/baselines/socketio-cluster.ts); echo answered inside the worker, fan-out by io.to(room).emit across workers; the generator speaks Socket.IO framing (--protocol socketio). Its CPU and RSS are summed over primary and workers. Target and result stay versus the ws baseline.'] : []),
    '',
    tableHeader(withSocketIo),
    ...lines,
    '',
  ];
  if (natsNote !== undefined) out.splice(3, 0, natsNote);
  if (wsClient && !tls) out.splice(3, 0, 'Generator: the ws client over ws:// too (--ws-client), as --tls uses it over wss://.');
  if (tls) out.splice(3, 0, 'TLS: every WebSocket scenario over wss:// (TLS 1.3, P-256 certificate made for the run), both sides; the generator uses the ws client for wss:// on both.');
  process.stdout.write(out.join('\n'));
  certificate?.remove();
  if (couldNotRun > 0) log(`${couldNotRun} scenario(s) could not run at all`);
  return couldNotRun > 0 ? 1 : 0;
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    log(`bench suite failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);

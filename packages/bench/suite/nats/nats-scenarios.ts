/**
 * The suite's `--nats` rows: Switchyard nodes joined through NATS, each
 * against the same work on one node. One rig (one nats-server, node a with
 * every service, node b with workers only, one worker each; nats-rig.ts) is
 * started once and serves every throughput row, interleaved across against
 * local within each round; its server cost is both nodes' process trees plus
 * nats-server. The failure timings start their own rig per round on a
 * 3-server NATS cluster (nats-faults.ts).
 *
 * Why the local side is the same two-node cluster with the client on node a
 * rather than the usual one-node target: the same processes, the same one
 * worker, the same nats-server and idle node b charged on both sides, so the
 * ratio isolates what the NATS hop costs.
 */
import { benchOptions } from '../../src';
import { DEFAULT_PER_ADDRESS } from '../../src/options';
import { addressesNeeded } from '../../src/source-address';
import { httpRunAt, messageRun, type RowSpec, type RunOutcome } from '../suite-scenarios';
import { tableLine, type SideRuns } from '../suite-table';
import { countCase, type CountCase, type CountResult } from './nats-count';
import { faultRound } from './nats-faults';
import { BENCH_CLUSTER_NAME, NatsRig, type NodeName } from './nats-rig';
import { natsServerPath, startNatsServer, type NatsServer } from './nats-server';

export interface NatsSizes {
  readonly duration: number;
  readonly warmup: number;
  /** Fan-out subscribers on each node (twice as many on node a on the local side). */
  readonly fanoutPerNode: number;
  /** Publishes per case of the NATS message count. */
  readonly countPublishes: number;
  /** Total msgs/s of the fixed-rate echo (under what one worker per node carries across). */
  readonly fixedRate: number;
  /** Numbered messages of the failure timings' stream. */
  readonly streamMessages: number;
}

export const NATS_FULL_SIZES: NatsSizes = { duration: 3, warmup: 1, fanoutPerNode: 1000, countPublishes: 100, fixedRate: 4000, streamMessages: 400 };
export const NATS_QUICK_SIZES: NatsSizes = { duration: 1, warmup: 0.5, fanoutPerNode: 250, countPublishes: 50, fixedRate: 2000, streamMessages: 200 };

/** Bounds of the failure rows: liveness declares a node dead after 3 s (checked every 750 ms); a NATS reconnect alone must stay under 2 s. */
export const DETECT_BOUND_MS = 4000;
export const RECOVERY_BOUND_MS = 2000;

interface NatsContext {
  readonly binary: string;
  /** The shared rig; started before the first scenario that needs it. */
  readonly rig: () => Promise<NatsRig>;
}

interface NatsSide {
  readonly label: string;
  run(context: NatsContext, sourceBase: number): Promise<RunOutcome>;
}

interface NatsScenario {
  readonly name: string;
  /** The measured side, then (when there is one) the side it is compared with. */
  readonly sides: readonly [NatsSide] | readonly [NatsSide, NatsSide];
  readonly rows: readonly RowSpec[];
  readonly addresses: number;
  /** One round only (a deterministic count). */
  readonly once?: true;
}

function cpuPerMessage(cpuSeconds: number, messages: number): number {
  return messages > 0 ? (cpuSeconds * 1e6) / messages : 0;
}

function echoSide(label: string, node: NodeName, sizes: NatsSizes, rate: number): NatsSide {
  return {
    label,
    run: async (context, sourceBase) => {
      const rig = await context.rig();
      const connections = 100;
      const options = benchOptions({ scenario: 'echo', url: rig.url(node, '/echo'), connections, inflight: 10, rate, duration: sizes.duration, warmup: sizes.warmup, sourceBase });
      return messageRun(rig, options, (result, cpu) => ({ msgsPerSec: result.messagesPerSecond, cpuUsPerMsg: cpuPerMessage(cpu, result.messages), p99Ms: result.latencyUs.p99 / 1000, p50Ms: result.latencyUs.p50 / 1000 }));
    },
  };
}

function fanoutSide(label: string, nodes: readonly NodeName[], sizes: NatsSizes): NatsSide {
  return {
    label,
    run: async (context, sourceBase) => {
      const rig = await context.rig();
      const options = benchOptions({
        scenario: 'fanout',
        url: rig.url('a', '/fanout'),
        // Subscribers alternate over the nodes listed; the publisher is on node a, with the service.
        spread: nodes.map((node) => rig.url(node, '/fanout')),
        connections: sizes.fanoutPerNode * 2,
        inflight: 1,
        duration: sizes.duration,
        warmup: sizes.warmup,
        sourceBase,
      });
      return messageRun(rig, options, (result, cpu) => ({ deliveriesPerSec: result.messagesPerSecond, missed: result.missed, p99Ms: result.latencyUs.p99 / 1000, cpuUsPerDelivery: cpuPerMessage(cpu, result.messages) }));
    },
  };
}

function httpSide(label: string, node: NodeName, sizes: NatsSizes): NatsSide {
  return {
    label,
    run: async (context) => {
      const rig = await context.rig();
      return httpRunAt(rig, rig.httpUrl(node, '/services/echo'), sizes.duration);
    },
  };
}

function describeCount(result: CountResult): string {
  const other = result.delivered - result.heartbeats - result.acks - result.toWorkers;
  return `subscribers a=${result.case.onA} b=${result.case.onB}: ${result.toWorkers} NATS messages to workers for ${result.publishes} publishes = ${result.perPublish.toFixed(2)} per publish (expected ${result.expected}); ` +
    `/varz Δ out_msgs ${result.delivered} = heartbeats ${result.heartbeats} + acks ${result.acks} + to workers ${result.toWorkers} + other ${other}; Δ in_msgs ${result.published}, from services ${result.fromServices}`;
}

function countSide(sizes: NatsSizes, log: (line: string) => void): NatsSide {
  const n = sizes.fanoutPerNode;
  // The row's case last; the others show the count does not follow the subscribers: none remote, one remote.
  const cases: readonly CountCase[] = [{ onA: n, onB: 0 }, { onA: 0, onB: 1 }, { onA: n, onB: n }];
  return {
    label: 'two nodes, fanout service on a, publisher on a',
    run: async (context) => {
      const rig = await context.rig();
      const monitorUrl = rig.servers[0]?.monitorUrl as string;
      const errors: Record<string, number> = {};
      let main: CountResult | undefined;
      for (const which of cases) {
        const result = await countCase(rig.url('a', '/fanout'), rig.url('b', '/fanout'), monitorUrl, BENCH_CLUSTER_NAME, which, sizes.countPublishes);
        log(`    ${describeCount(result)}`);
        if (result.toWorkers !== result.expected * result.publishes) errors[`a=${which.onA} b=${which.onB}: ${result.perPublish.toFixed(2)} per publish, expected ${result.expected}`] = 1;
        main = result;
      }
      const last = main as CountResult;
      return { figures: { perPublish: last.perPublish, acks: last.acks, heartbeats: last.heartbeats, delivered: last.delivered }, cpuSeconds: 0, rssBytes: rig.rssBytes(), errors };
    },
  };
}

function natsScenarios(sizes: NatsSizes, log: (line: string) => void): NatsScenario[] {
  const across = 'client on node b, service on a';
  const local = 'client on node a, with the service';
  const n = sizes.fanoutPerNode.toLocaleString('en-US');
  const rate = sizes.fixedRate.toLocaleString('en-US');
  return [
    {
      name: 'NATS echo across nodes, 100 conns × 10 in flight',
      sides: [echoSide(across, 'b', sizes, 0), echoSide(local, 'a', sizes, 0)],
      addresses: 1,
      rows: [
        { label: 'NATS: echo across nodes (client on b, service on a) against the client on a, 100 conns × 10 in flight, 64-byte JSON', figure: 'msgsPerSec', goal: 'min', target: 0.5, unit: 'msgs/s' },
        { label: 'NATS: server CPU per echoed message (both nodes and nats-server), across against on a', figure: 'cpuUsPerMsg', goal: 'info', target: 0, unit: 'µs CPU/msg' },
      ],
    },
    {
      name: `NATS echo across nodes at a fixed ${sizes.fixedRate} msgs/s`,
      sides: [echoSide(across, 'b', sizes, sizes.fixedRate), echoSide(local, 'a', sizes, sizes.fixedRate)],
      addresses: 1,
      rows: [
        { label: `NATS: p99 latency at a fixed ${rate} msgs/s, 100 conns, across against on a`, figure: 'p99Ms', goal: 'info', target: 0, unit: 'ms p99' },
        { label: `NATS: server CPU per echoed message at a fixed ${rate} msgs/s, across against on a`, figure: 'cpuUsPerMsg', goal: 'info', target: 0, unit: 'µs CPU/msg' },
      ],
    },
    {
      name: `NATS fan-out, ${sizes.fanoutPerNode} + ${sizes.fanoutPerNode} subscribers on two nodes`,
      sides: [fanoutSide(`${n} subscribers on a and ${n} on b`, ['a', 'b'], sizes), fanoutSide(`${(sizes.fanoutPerNode * 2).toLocaleString('en-US')} on a`, ['a'], sizes)],
      addresses: addressesNeeded(sizes.fanoutPerNode * 2, DEFAULT_PER_ADDRESS),
      rows: [
        { label: `NATS: fan-out, one topic, ${n} subscribers on each node against ${(sizes.fanoutPerNode * 2).toLocaleString('en-US')} on node a (service and publisher on a), deliveries/s`, figure: 'deliveriesPerSec', goal: 'info', target: 0, unit: 'deliveries/s' },
      ],
    },
    {
      name: 'NATS messages per publish, counted at nats-server',
      sides: [countSide(sizes, log)],
      addresses: 0,
      once: true,
      rows: [
        {
          label: `NATS: messages per publish at nats-server (/varz out_msgs less heartbeats and acks, split by /connz), ${n} + ${n} subscribers: must equal the remote workers holding subscribers (1), as with 1 on b (1) and none on b (0)`,
          figure: 'perPublish',
          goal: 'pass',
          target: 1,
          unit: 'NATS msgs/publish',
        },
      ],
    },
    {
      name: 'NATS HTTP POST /services/echo across nodes (autocannon)',
      sides: [httpSide('on node b, service on a', 'b', sizes), httpSide('on node a, with the service', 'a', sizes)],
      addresses: 0,
      rows: [
        { label: 'NATS: HTTP POST /services/echo on node b (service on a) against on node a (autocannon, 50 conns), req/s', figure: 'reqPerSec', goal: 'info', target: 0, unit: 'req/s' },
        { label: 'NATS: server CPU per HTTP request, across against on a', figure: 'cpuUsPerReq', goal: 'info', target: 0, unit: 'µs CPU/req' },
      ],
    },
    {
      name: 'NATS failure timings (3-server NATS cluster, fresh nodes per round)',
      sides: [{ label: 'two nodes, default liveness (heartbeats 500 ms, dead after 3 s)', run: (context) => faultRound(context.binary, sizes.streamMessages) }],
      addresses: 0,
      rows: [
        { label: "NATS: time to detect a dead node (node b's master SIGKILLed until the service on a heard 1006 'node lost' for each of b's 3 clients)", figure: 'detectMs', goal: 'under', target: DETECT_BOUND_MS, unit: 'ms' },
        { label: `NATS: time to recover from a NATS server kill (node a's server SIGKILLed mid-stream, ${sizes.streamMessages} numbered echoes from b; until the first answer to a message sent after the kill)`, figure: 'recoveryMs', goal: 'under', target: RECOVERY_BOUND_MS, unit: 'ms' },
        { label: 'NATS: events lost through both failures (first answers in order, repeats only marked redelivered)', figure: 'lost', goal: 'pass', target: 0, unit: 'lost' },
      ],
    },
  ];
}

interface MutableSide {
  label: string;
  outcomes: RunOutcome[];
  failures: string[];
}

function summary(outcome: RunOutcome): string {
  const figures = Object.entries(outcome.figures).map(([key, value]) => `${key}=${Number.isInteger(value) ? value : value.toFixed(2)}`).join(' ');
  const errors = Object.keys(outcome.errors).length === 0 ? '' : ` errors=${JSON.stringify(outcome.errors)}`;
  return `${figures} cpu=${outcome.cpuSeconds.toFixed(2)}s${errors}`;
}

export interface NatsPartResult {
  readonly lines: readonly string[];
  /** Scenarios with a side that never produced a run. */
  readonly couldNotRun: number;
  /** Set when the part was skipped (no nats-server). */
  readonly skipped?: string;
}

/**
 * Runs the `--nats` scenarios whose name contains `only` (all without it),
 * `rounds` interleaved rounds each, and returns their table lines.
 */
export async function runNatsPart(options: { readonly quick: boolean; readonly rounds: number; readonly only?: string; readonly sourceBase: number; readonly log: (line: string) => void }): Promise<NatsPartResult> {
  const { log } = options;
  const binary = natsServerPath();
  if (binary === undefined) {
    const reason = 'SKIPPED: the --nats rows need nats-server on PATH (or NATS_SERVER=/path/to/nats-server); none was found. Install it (Debian: apt-get install nats-server) and run again.';
    log(reason);
    return { lines: [], couldNotRun: 0, skipped: reason };
  }
  const sizes = options.quick ? NATS_QUICK_SIZES : NATS_FULL_SIZES;
  const scenarios = natsScenarios(sizes, log).filter((scenario) => options.only === undefined || scenario.name.includes(options.only));
  let server: NatsServer | undefined;
  let rig: NatsRig | undefined;
  let starting: Promise<NatsRig> | undefined;
  const context: NatsContext = {
    binary,
    rig: () => {
      starting ??= (async () => {
        server = await startNatsServer(binary);
        log(`  nats-server ${server.url} (monitoring ${server.monitorUrl}); starting nodes a and b`);
        rig = await NatsRig.start([server], () => [(server as NatsServer).url]);
        return rig;
      })();
      return starting;
    },
  };
  const lines: string[] = [];
  let couldNotRun = 0;
  let sourceBase = options.sourceBase;
  try {
    for (const scenario of scenarios) {
      log(scenario.name);
      const sides: MutableSide[] = scenario.sides.map((side) => ({ label: side.label, outcomes: [], failures: [] }));
      const rounds = scenario.once === true ? 1 : options.rounds;
      for (let round = 1; round <= rounds; round++) {
        for (const [index, side] of scenario.sides.entries()) {
          const into = sides[index] as MutableSide;
          try {
            const outcome = await side.run(context, sourceBase);
            into.outcomes.push(outcome);
            log(`  round ${round}/${rounds} ${side.label}: ${summary(outcome)}`);
          } catch (error) {
            const message = (error as Error).message.split('\n')[0] ?? String(error);
            into.failures.push(message);
            log(`  round ${round}/${rounds} ${side.label}: FAILED ${message}`);
          }
          sourceBase += scenario.addresses + 1;
        }
      }
      if (sides.some((side) => side.outcomes.length === 0)) couldNotRun++;
      for (const row of scenario.rows) lines.push(tableLine(row, sides[0] as SideRuns, sides[1] as SideRuns | undefined));
    }
  } finally {
    await (rig as NatsRig | undefined)?.stopNodes();
    await (server as NatsServer | undefined)?.stop();
  }
  return { lines, couldNotRun };
}

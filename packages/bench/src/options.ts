/**
 * `switchyard bench` flags, resolved in one place: `DEFAULT_*` constants, one
 * `parseBenchArgs()` that validates with flag names and freezes the result.
 */
import { parseArgs } from 'node:util';
import { SwitchyardError } from 'switchyard';
import { DEFAULT_CHAOS_INTERVAL_MS, parseChaos, type ChaosPlan } from './chaos/plan';
import { PROTOCOLS, type Protocol } from './socketio';

export type Scenario = 'echo' | 'fanout' | 'connect';
export const SCENARIOS: readonly Scenario[] = ['echo', 'fanout', 'connect'];

export interface BenchOptions {
  readonly scenario: Scenario;
  /** ws:// URL of the target, path included (Socket.IO: the server's address; the path defaults to /socket.io/). */
  readonly url: string;
  /** 'ws': raw WebSocket messages; 'socketio': Socket.IO events over its WebSocket transport (see socketio.ts). */
  readonly protocol: Protocol;
  /** Client connections (subscribers for fanout), over all processes. */
  readonly connections: number;
  /** Messages in flight per connection (echo) or for the publisher (fanout, when no rate is set). */
  readonly inflight: number;
  /** Measured seconds, after the warm-up. */
  readonly duration: number;
  readonly warmup: number;
  /** Payload size in bytes (a JSON text padded to this size). */
  readonly size: number;
  /** echo: total messages/s (open loop); fanout: publisher messages/s; connect: connections/s. 0 = as fast as possible. */
  readonly rate: number;
  /** connect: seconds to hold every connection once all are open. */
  readonly hold: number;
  /** Load-generating processes; 0 = as many as `connections` needs (see `maxPerProc`). */
  readonly procs: number;
  /** Most connections one generator process opens (it must stay under the descriptor limit). */
  readonly maxPerProc: number;
  /** First source-address index (127.0.x.y, see source-address.ts); lets back-to-back runs use fresh ports. */
  readonly sourceBase: number;
  /** Most connections per source address (the ephemeral port range holds ~28,000). */
  readonly perAddress: number;
  /** Seconds a connection attempt may take before it counts as failed. */
  readonly connectTimeout: number;
  readonly json: boolean;
  /** Live progress line on stderr; default: when stderr is a TTY and --json is not given. */
  readonly progress: boolean;
  /** echo: faults to inject while the load runs, and the damage to report (chaos/); default none. */
  readonly chaos?: ChaosPlan;
  /**
   * Library only (the suite's `--nats` fan-out over two nodes, and its JWT
   * storm, a token of its own in each connection's URL): connection `i`
   * (numbered over all processes) goes to `spread[i % spread.length]` instead
   * of `url`; the fanout publisher stays on `url` and, with two or more,
   * first sends uncounted probes until every subscriber heard one (their
   * subscriptions cross nodes after the socket opened). Default none: every
   * connection to `url`.
   */
  readonly spread?: readonly string[];
}

export const DEFAULT_URL = 'ws://127.0.0.1:8080/echo';
export const DEFAULT_CONNECTIONS = 100;
export const DEFAULT_INFLIGHT = 10;
export const DEFAULT_DURATION = 10;
export const DEFAULT_WARMUP = 1;
export const DEFAULT_SIZE = 64;
export const DEFAULT_HOLD = 5;
export const DEFAULT_MAX_PER_PROC = 15_000;
/**
 * Few connections per source address: a socket bound to an address before
 * connect() gets its port from the kernel's bind allocator, whose search grows
 * with the sockets already bound there. Measured here: 12,000 connects on one
 * address ran at ~1,200/s (generator mostly in sys time), at 1,000 per
 * address ~6,000/s.
 */
export const DEFAULT_PER_ADDRESS = 1000;
export const DEFAULT_CONNECT_TIMEOUT = 10;
/** The fixed header of a bench payload takes this many bytes; see payload.ts. */
export const MIN_SIZE = 64;

export type BenchCommand = { readonly command: 'help' } | { readonly command: 'run'; readonly options: BenchOptions };

export const BENCH_HELP = `Usage: switchyard bench <echo|fanout|connect> [flags]

Scenarios:
  echo      C connections each keep W messages in flight (or, with --rate, a fixed
            total rate, open loop) for --duration seconds after --warmup; every
            reply is timed (per-connection FIFO of send times, no parsing).
  fanout    C subscribers connect to the URL, then one publisher connection sends
            numbered messages; the server must broadcast each to every client.
            Counts deliveries/s and, from the sequence numbers, what each
            subscriber missed. Publisher pace: --rate msgs/s, or else W in flight
            (the publisher's own copy coming back acknowledges one).
  connect   Opens C connections (at --rate per second, or as fast as possible),
            spread over source addresses 127.0.x.y, holds them --hold seconds,
            reports connects/s and failures by reason.

Flags:
  --url <ws://host:port/path>  target (default ${DEFAULT_URL})
  --protocol <ws|socketio>     ws: raw WebSocket messages (default); socketio: a Socket.IO
                               server (Engine.IO v4, WebSocket transport only): connect
                               handshake, every message a "message" event, pings
                               answered; --url path defaults to /socket.io/
  -c, --connections <n>        connections, subscribers for fanout (default ${DEFAULT_CONNECTIONS})
  -w, --inflight <n>           messages in flight per connection (default ${DEFAULT_INFLIGHT};
                               fanout publisher without --rate: default 1)
  -d, --duration <s>           measured seconds (default ${DEFAULT_DURATION})
  --warmup <s>                 seconds of load before measuring (default ${DEFAULT_WARMUP})
  --size <bytes>               payload size, at least ${MIN_SIZE} (default ${DEFAULT_SIZE}: a 64-byte JSON text)
  --rate <n>                   echo: total msgs/s, open loop; fanout: publisher msgs/s;
                               connect: connections/s (default 0: as fast as possible)
  --hold <s>                   connect: seconds to hold the connections (default ${DEFAULT_HOLD})
  --procs <n>                  generator processes, results and histograms merged
                               (default: 1, or more when --connections exceeds --max-per-proc)
  --max-per-proc <n>           most connections per generator process (default ${DEFAULT_MAX_PER_PROC};
                               a process may hold at most 20,000 descriptors here)
  --per-address <n>            most connections per source address (default ${DEFAULT_PER_ADDRESS})
  --source-base <n>            first source-address index, 0 = 127.0.0.1 (default 0)
  --connect-timeout <s>        a connection not open by then fails (default ${DEFAULT_CONNECT_TIMEOUT})
  --chaos <kinds>              echo: while the load runs, inject faults in rotation, a
                               comma-separated list of service (SIGKILL an instance of the
                               URL's service), worker (SIGKILL a worker), reload (SIGHUP the
                               master: a rolling reload); the processes are read from the
                               server's /healthz, so run it on the server's machine as its
                               user. Messages are numbered; reports, per event, sent,
                               answered, lost, reordered, duplicates (marked redelivered or
                               not), cut by a disconnect, reconnects, p99 and recovery time.
                               Exit status 1 on any loss, reorder or unmarked duplicate
  --chaos-interval <time>      from the measured window's start to the first event and
                               between events, e.g. 10s, 500ms, 1m (default ${DEFAULT_CHAOS_INTERVAL_MS / 1000}s);
                               no event within one interval of the end
  --chaos-service <names>      the services whose instances "service" kills, comma-separated,
                               in rotation (default: the --url path's first segment)
  --chaos-events <n>           exactly n events, the load running past --duration until the
                               last one recovered and one more interval passed (default 0:
                               as many as --duration holds)
  --health-url <url>           the server's health endpoint (default: http://<--url host>/healthz)
  --json                       print the result as JSON on stdout
  --progress / --no-progress   live progress line on stderr (default: on when stderr is a TTY)
  -h, --help                   show this text

Latency is in microseconds from an HDR histogram (3 significant digits).
Generator CPU is user+system time of every generator process as % of one core:
near 100% x procs means the client, not the server, is the bottleneck.

Examples:
  switchyard bench echo --url ws://127.0.0.1:8080/echo -c 100 -w 10 -d 10
  switchyard bench echo --url ws://127.0.0.1:8080/echo -c 200 --rate 10000
  switchyard bench fanout --url ws://127.0.0.1:8080/fanout -c 2000            (paced by acks)
  switchyard bench fanout --url ws://127.0.0.1:8080/fanout -c 2000 --rate 20  (40,000 deliveries/s)
  switchyard bench connect --url ws://127.0.0.1:8080/echo -c 60000 --hold 10
  switchyard bench echo --protocol socketio --url ws://127.0.0.1:3000 -c 100   (Socket.IO echo server)
  switchyard bench echo --url ws://127.0.0.1:8080/echo -c 100 -w 2 -d 60 --chaos service,worker,reload --chaos-interval 10s`;

function invalid(message: string, cause?: unknown): SwitchyardError {
  return new SwitchyardError('SY_ERR_INVALID_OPTION', message, cause === undefined ? undefined : { cause });
}

function numberFlag(name: string, value: string | undefined, fallback: number, min: number, max: number, integer = true): number {
  if (value === undefined) return fallback;
  const pattern = integer ? /^\d+$/ : /^\d+(?:\.\d+)?$/;
  const parsed = Number(value);
  if (!pattern.test(value) || parsed < min || parsed > max) {
    throw invalid(`--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function checkUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw invalid(`--url must be a ws:// URL, got "${value}"`, cause);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw invalid(`--url must be a ws:// or wss:// URL, got "${value}"`);
  return url.toString();
}

/** Parses the arguments after `bench`. Throws `SY_ERR_INVALID_OPTION` on a bad flag. */
export function parseBenchArgs(argv: readonly string[], stderrIsTty = false): BenchCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        protocol: { type: 'string' },
        connections: { type: 'string', short: 'c' },
        inflight: { type: 'string', short: 'w' },
        duration: { type: 'string', short: 'd' },
        warmup: { type: 'string' },
        size: { type: 'string' },
        rate: { type: 'string' },
        hold: { type: 'string' },
        procs: { type: 'string' },
        'max-per-proc': { type: 'string' },
        'per-address': { type: 'string' },
        'source-base': { type: 'string' },
        'connect-timeout': { type: 'string' },
        chaos: { type: 'string' },
        'chaos-interval': { type: 'string' },
        'chaos-service': { type: 'string' },
        'health-url': { type: 'string' },
        'chaos-events': { type: 'string' },
        json: { type: 'boolean' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (cause) {
    throw invalid((cause as Error).message, cause);
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals[0] === 'help') return { command: 'help' };
  if (positionals.length === 0) throw invalid(`switchyard bench needs a scenario: ${SCENARIOS.join(', ')}`);
  if (positionals.length > 1) throw invalid(`unexpected argument "${positionals[1]}"`);
  const scenario = positionals[0] as Scenario;
  if (!SCENARIOS.includes(scenario)) throw invalid(`unknown scenario "${positionals[0]}"; use one of ${SCENARIOS.join(', ')}`);

  const protocol = (values.protocol ?? 'ws') as Protocol;
  if (!PROTOCOLS.includes(protocol)) throw invalid(`--protocol must be one of ${PROTOCOLS.join(', ')}, got "${values.protocol}"`);
  const rate = numberFlag('rate', values.rate, 0, 0, 100_000_000);
  const json = values.json === true;
  const url = checkUrl(values.url ?? DEFAULT_URL);
  const chaos = parseChaos({ chaos: values.chaos, interval: values['chaos-interval'], service: values['chaos-service'], healthUrl: values['health-url'], events: values['chaos-events'] }, url);
  if (chaos !== undefined && scenario !== 'echo') throw invalid(`--chaos runs with the echo scenario, not ${scenario}`);
  if (chaos !== undefined && (protocol !== 'ws' || !url.startsWith('ws:'))) throw invalid('--chaos speaks raw WebSocket over ws:// (--protocol ws)');
  const options: BenchOptions = {
    scenario,
    url,
    protocol,
    connections: numberFlag('connections', values.connections, DEFAULT_CONNECTIONS, 1, 1_000_000),
    // A fanout publisher paced by acknowledgements defaults to one message in flight.
    inflight: numberFlag('inflight', values.inflight, scenario === 'fanout' ? 1 : DEFAULT_INFLIGHT, 1, 100_000),
    duration: numberFlag('duration', values.duration, DEFAULT_DURATION, 0.1, 86_400, false),
    warmup: numberFlag('warmup', values.warmup, DEFAULT_WARMUP, 0, 3600, false),
    size: numberFlag('size', values.size, DEFAULT_SIZE, MIN_SIZE, 16 * 1024 * 1024),
    rate,
    hold: numberFlag('hold', values.hold, DEFAULT_HOLD, 0, 86_400, false),
    procs: numberFlag('procs', values.procs, 0, 1, 256),
    maxPerProc: numberFlag('max-per-proc', values['max-per-proc'], DEFAULT_MAX_PER_PROC, 1, 19_000),
    perAddress: numberFlag('per-address', values['per-address'], DEFAULT_PER_ADDRESS, 1, 28_000),
    sourceBase: numberFlag('source-base', values['source-base'], 0, 0, 60_000),
    connectTimeout: numberFlag('connect-timeout', values['connect-timeout'], DEFAULT_CONNECT_TIMEOUT, 0.1, 3600, false),
    json,
    progress: values['no-progress'] === true ? false : values.progress === true ? true : stderrIsTty && !json,
    ...(chaos === undefined ? {} : { chaos }),
  };
  return { command: 'run', options: Object.freeze(options) };
}

/** Options for library callers (the suite, tests): defaults merged under `overrides`. */
export function benchOptions(overrides: Partial<BenchOptions> & Pick<BenchOptions, 'scenario' | 'url'>): BenchOptions {
  const { options } = parseBenchArgs([overrides.scenario, '--url', overrides.url]) as { command: 'run'; options: BenchOptions };
  return Object.freeze({ ...options, progress: false, ...overrides });
}

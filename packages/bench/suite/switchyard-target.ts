/**
 * Switchyard as a bench target: the master in this process (started through
 * `createServer`), with the bundled echo service and the bench fanout service
 * (and, for the instances scenario, the CPU-bound echo service).
 * Workers from SWITCHYARD_BENCH_WORKERS (default 2). With
 * SWITCHYARD_BENCH_CLUSTER (the `--nats` rows, nats/nats-rig.ts) it is one
 * node of a cluster: the option as JSON, every service placed on node
 * SWITCHYARD_BENCH_SERVICE_NODE (default `a`), plus the nats-watch service.
 */
import * as path from 'node:path';
import { createServer, type SwitchyardOptions } from 'switchyard';
import type { ListeningMessage } from './baselines/listen';
import { JWT_SECRET_ENV } from './jwt-token';
import { TLS_CERT_ENV, TLS_KEY_ENV } from './tls-cert';

const extension = path.extname(__filename);
const workers = Number(process.env.SWITCHYARD_BENCH_WORKERS ?? '2');
// For A/B runs (suite/ab.ts): SWITCHYARD_BENCH_BALANCING=kernel; unset means the default.
const balancing = process.env.SWITCHYARD_BENCH_BALANCING as SwitchyardOptions['balancing'];
// For the instances scenario: the CPU-bound echo service, run as this many instances; unset means it is not started at all.
const cpuInstances = process.env.SWITCHYARD_BENCH_CPU_INSTANCES === undefined ? undefined : Number(process.env.SWITCHYARD_BENCH_CPU_INSTANCES);
// The large-message scenario: maxPayload raised to take its 16 MiB messages (suite/large-messages.ts).
const maxPayload = process.env.SWITCHYARD_BENCH_MAX_PAYLOAD === undefined ? undefined : Number(process.env.SWITCHYARD_BENCH_MAX_PAYLOAD);
// --tls (suite.ts): serve wss:// with the run's certificate.
const cert = process.env[TLS_CERT_ENV];
const key = process.env[TLS_KEY_ENV];
// The JWT row (suite-scenarios.ts): verify every upgrade's HS256 token with this secret.
const jwtSecret = process.env[JWT_SECRET_ENV];
// --nats (nats/nats-rig.ts): this process is one node; every service lives on the service node.
type ClusterOption = Exclude<SwitchyardOptions['cluster'], false | undefined>;
const cluster = process.env.SWITCHYARD_BENCH_CLUSTER === undefined ? undefined : (JSON.parse(process.env.SWITCHYARD_BENCH_CLUSTER) as ClusterOption);
const serviceNode = process.env.SWITCHYARD_BENCH_SERVICE_NODE ?? 'a';
/** A service's definition: the module alone on one machine, placed on the service node in a cluster. */
function placed(module: string): string | { module: string; node: string } {
  return cluster === undefined ? module : { module, node: serviceNode };
}
const server = createServer({
  port: 0,
  host: '127.0.0.1',
  workers,
  logLevel: 'warn',
  // The baselines enforce no per-client limits; neither does Switchyard here
  // (the defaults would close a bench client sending > 1,000 msgs/s with 1008,
  // and refuse the 15,000 per worker the capacity scenario holds).
  maxMessagesPerSecond: 0,
  maxConnectionsPerWorker: 1_000_000,
  maxConnectionsPerIp: 1_000_000,
  ...(balancing === undefined ? {} : { balancing }),
  ...(maxPayload === undefined ? {} : { maxPayload }),
  ...(cert === undefined || key === undefined ? {} : { tls: { cert, key } }),
  ...(jwtSecret === undefined ? {} : { jwt: { secret: jwtSecret } }),
  ...(cluster === undefined ? {} : { cluster }),
  services: {
    // The server's bundled echo service, through its documented subpath export.
    echo: placed(require.resolve('switchyard/examples/echo')),
    fanout: placed(path.join(__dirname, 'services', `fanout-service${extension}`)),
    ...(cpuInstances === undefined ? {} : { cpuecho: { module: path.join(__dirname, 'services', `cpu-echo-service${extension}`), instances: cpuInstances } }),
    ...(cluster === undefined ? {} : { watch: placed(path.join(__dirname, 'services', `nats-watch-service${extension}`)) }),
  },
});

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.close().then(() => process.exit(0), () => process.exit(1));
}
process.on('SIGTERM', stop);
process.on('disconnect', stop);

server.listen().then(
  (port) => {
    const message: ListeningMessage = { type: 'listening', port };
    process.send?.(message);
  },
  (error: unknown) => {
    process.stderr.write(`switchyard target failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  },
);

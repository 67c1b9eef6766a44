/**
 * How the master hands configuration to the processes it forks: one JSON value
 * in one environment variable. A child checks only its role on arrival: the
 * rest was written by the master from options `resolveOptions()` validated,
 * and nothing else sets this variable.
 */
import type { ResolvedCluster } from './nats/cluster-options';
import type { JwtOptions, LogLevel, ResolvedOptions } from './options';
import { WORKER_LIMIT_NAMES, type WorkerLimitName } from './options-spec';
import type { ServiceShards } from './shard-key';

export const CHILD_CONFIG_ENV = 'SWITCHYARD_CHILD_CONFIG';

export interface IpcLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/**
 * What a worker enforces on its own clients: the options marked `workerLimit`
 * in `OPTION_SPECS` (see `SwitchyardOptions` for each), so a new limit is
 * added to the table only. `allowedOrigins` travels as the exact origins
 * allowed to connect, or null for any; `trustProxy` as the list, or null.
 */
export type WorkerLimits = { readonly [K in Exclude<WorkerLimitName, 'allowedOrigins' | 'trustProxy'>]: ResolvedOptions[K] } & {
  readonly allowedOrigins: readonly string[] | null;
  /** The proxies to trust (`trustProxy`), or null for none. */
  readonly trustProxy: readonly string[] | null;
};

export function workerLimits(options: ResolvedOptions): WorkerLimits {
  const limits: Record<string, unknown> = {};
  for (const name of WORKER_LIMIT_NAMES) limits[name] = options[name];
  limits.allowedOrigins = options.allowedOrigins === '*' ? null : options.allowedOrigins;
  limits.trustProxy = options.trustProxy === false ? null : options.trustProxy;
  return limits as WorkerLimits;
}

export interface WorkerConfig {
  readonly role: 'worker';
  readonly port: number;
  readonly host: string;
  readonly services: readonly string[];
  /** Each service's instance count and shard key (the worker keeps one link per instance). */
  readonly shards: Readonly<Record<string, ServiceShards>>;
  readonly forwardHeaders: readonly string[];
  readonly maxPayload: number;
  readonly logLevel: LogLevel;
  /** Log through pino-pretty (`logPretty`); absent means JSON. */
  readonly logPretty?: boolean;
  readonly ipc: IpcLimits;
  /** Path of the health endpoint, or null when it is off. */
  readonly healthPath: string | null;
  /** Path of the metrics endpoint, or null when it is off. */
  readonly metricsPath: string | null;
  /** Path of the readiness endpoint, or null when it is off. */
  readonly readyPath: string | null;
  readonly requestTimeout: number;
  readonly maxRequestBody: number;
  /** Absolute folder to serve over HTTP, or false for none. */
  readonly staticDir: string | false;
  /** Whether the worker serves TLS: it then waits for its certificate (a `tls` message from the master) before it listens. */
  readonly tls: boolean;
  readonly limits: WorkerLimits;
  /** Absolute path of the `authenticate` module, or null. */
  readonly authenticate?: string | null;
  /** The built-in JWT authenticator's options (files as absolute paths), or null. */
  readonly jwt?: JwtOptions | null;
  /** Absolute path of the `http` app module, or null. */
  readonly httpApp?: string | null;
  /** With `cluster`: the NATS settings for links to instances on other nodes. Absent on one machine. */
  readonly cluster?: ResolvedCluster;
  /** Listen on a socket of its own with SO_REUSEPORT (`balancing: 'reuse-port'`); absent: through node:cluster's shared handle. */
  readonly reusePort?: boolean;
}

export interface ServiceConfig {
  readonly role: 'service';
  readonly name: string;
  readonly modulePath: string;
  readonly logLevel: LogLevel;
  /** Log through pino-pretty (`logPretty`); absent means JSON. */
  readonly logPretty?: boolean;
  readonly ipc: IpcLimits;
  readonly requestTimeout: number;
  /** How long a (re)started instance waits at most for the workers to resume their clients (`livenessTimeout`), in ms. */
  readonly resumeTimeout: number;
  /** The Unix socket path to listen at for the workers' links. */
  readonly endpoint: string;
  /** This process's instance index (0 to `instances` − 1) and the service's instance count. */
  readonly instance: number;
  readonly instances: number;
  /** Where to take peer connections from the other instances; only for a service of several. */
  readonly peerEndpoint?: string;
  /** With `cluster`: the NATS settings for the links of workers on other nodes. Absent on one machine. */
  readonly cluster?: ResolvedCluster;
}

export type ChildConfig = WorkerConfig | ServiceConfig;

export function encodeChildConfig(config: ChildConfig): string {
  return JSON.stringify(config);
}

/** Reads this process's config; throws when it is missing or not of `role`. */
export function readChildConfig<R extends ChildConfig['role']>(role: R): Extract<ChildConfig, { role: R }> {
  const raw = process.env[CHILD_CONFIG_ENV];
  if (raw === undefined) throw new Error(`${CHILD_CONFIG_ENV} is not set: this module is started by the Switchyard master`);
  const config = JSON.parse(raw) as unknown;
  if (typeof config !== 'object' || config === null || (config as { role?: unknown }).role !== role) {
    throw new Error(`${CHILD_CONFIG_ENV} does not describe a ${role}`);
  }
  return config as Extract<ChildConfig, { role: R }>;
}

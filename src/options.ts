/**
 * Options, resolved and validated in one place. The CLI, the config file and
 * the library API all end up in `resolveOptions()`. What each option is (type,
 * bounds, default, docs) lives in one table, `OPTION_SPECS` in options-spec.ts;
 * integers, booleans and enums are validated from it, the rest by the named
 * resolvers of each group.
 *
 * This file is the resolver; the checks it shares are in options-check.ts,
 * the defaults in options-defaults.ts, and the resolvers of each group in
 * options-network.ts, options-services.ts, options-files.ts, options-jwt.ts.
 */
import * as path from 'node:path';
import { reusePortAvailable } from './balancing';
import { SwitchyardError } from './errors';
import { closest } from './did-you-mean';
import { PRETTY_MODULE, prettyInstalled } from './log-pretty';
import { describeOption, type OptionOrigins } from './options-origin';
import { fromSpec, invalid, InvalidOptionError } from './options-check';
import { DEFAULT_HEALTH_PATH, DEFAULT_METRICS_PATH, DEFAULT_READY_PATH } from './options-defaults';
import { resolveModulePath, resolveStaticDir } from './options-files';
import { resolveJwt } from './options-jwt';
import {
  endpointPath,
  resolveAllowedOrigins,
  resolveCorsOrigins,
  resolveForwardHeaders,
  resolveHost,
  resolveOpsHost,
  resolveOpsPort,
  resolveTls,
  resolveTrustProxy,
} from './options-network';
import { resolveCluster, resolveServices } from './options-services';
import type { ServiceShards } from './shard-key';
import type { ResolvedCluster } from './nats/cluster-options';
import { OPTION_NAMES, OPTION_SPECS, type OptionName, type SwitchyardOptions } from './options-spec';

export { BALANCING_MODES, LOG_LEVELS, OPTION_SPECS } from './options-spec';
export type { Balancing, JwtOptions, LogLevel, ServiceDefinition, SwitchyardOptions, TlsOptions, TokenSource } from './options-spec';
// The defaults and limits, by name: the modules and tests import them from here.
export * from './options-defaults';
export { staticDirWarning } from './options-files';

/**
 * Options after `resolveOptions()`: every field set. `services` maps each
 * name to its module's absolute path whichever form it was given in, and
 * `shards` holds each service's instance count and shard key (`instances: 1`,
 * `shardBy: client` for the string form).
 */
export type ResolvedOptions = { readonly [K in Exclude<keyof SwitchyardOptions, 'services' | 'authenticate' | 'http' | 'cluster'>]-?: Exclude<SwitchyardOptions[K], undefined> } & {
  readonly services: Readonly<Record<string, string>>;
  /** Absolute paths: a `URL` given is resolved to its file. */
  readonly authenticate: string | false;
  readonly http: string | false;
  readonly shards: Readonly<Record<string, ServiceShards>>;
  /** `false`: one machine. */
  readonly cluster: ResolvedCluster | false;
  /**
   * With `cluster`: the node of each instance of each service
   * (`placement.chat[i]`), from its `node` or `nodes`. Empty without
   * `cluster` (every instance runs here; a placement given is ignored).
   */
  readonly placement: Readonly<Record<string, readonly string[]>>;
};

/** Fields of `ResolvedOptions` that no option names: derived from one (`shards` and `placement` from `services`). */
export const DERIVED_OPTION_KEYS = ['shards', 'placement'] as const;

const KNOWN_KEYS: ReadonlySet<string> = new Set<string>(OPTION_NAMES);

type GenericOptionName = { [K in OptionName]: (typeof OPTION_SPECS)[K] extends { readonly kind: 'custom' } ? never : K }[OptionName];

/** What `resolveOptions()` knows besides the options: where each came from, for its errors. */
export interface ResolveContext {
  /** Where each option came from (the CLI's flags, environment and config file); unnamed ones are `options.<name>`. */
  readonly origins?: OptionOrigins;
}

/**
 * Merges `options` over the defaults, validates every field and freezes the
 * result. A bad value throws `SY_ERR_INVALID_OPTION` naming the option by
 * its dotted path and, with `context.origins`, where it came from
 * (`SWITCHYARD_WORKERS (environment) must be an integer from 1 to 256, got 0`).
 */
export function resolveOptions(options: SwitchyardOptions = {}, context: ResolveContext = {}): ResolvedOptions {
  try {
    return resolveNamed(options);
  } catch (error) {
    if (error instanceof InvalidOptionError && context.origins !== undefined) {
      throw new SwitchyardError('SY_ERR_INVALID_OPTION', `${describeOption(error.option, context.origins)} ${error.problem}`);
    }
    throw error;
  }
}

function resolveNamed(options: SwitchyardOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new SwitchyardError('SY_ERR_INVALID_OPTION', 'options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      const guess = closest(key, OPTION_NAMES);
      throw new InvalidOptionError(key, `is not a known option${guess === undefined ? '' : ` (did you mean ${guess}?)`}`);
    }
  }
  const cwd = options.cwd ?? process.cwd();
  if (typeof cwd !== 'string' || !path.isAbsolute(cwd)) throw invalid('cwd', 'an absolute path', cwd);

  const given = options as Readonly<Record<OptionName, unknown>>;
  const fromTable: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    const value = fromSpec(name, OPTION_SPECS[name], given[name]);
    if (value !== undefined) fromTable[name] = value;
  }
  const generic = fromTable as Pick<ResolvedOptions, GenericOptionName>;

  if (generic.maxRestartDelay < generic.restartDelay) {
    throw invalid('maxRestartDelay', `at least options.restartDelay (${generic.restartDelay})`, generic.maxRestartDelay);
  }
  // A budget below one full body would refuse every body of the largest allowed size.
  if (generic.maxBufferedRequestBytes < generic.maxRequestBody) {
    throw invalid('maxBufferedRequestBytes', `at least options.maxRequestBody (${generic.maxRequestBody})`, generic.maxBufferedRequestBytes);
  }

  // Refused here rather than failing each worker's listen: the same config may be meant for a newer Node.
  if (generic.balancing === 'reuse-port' && !reusePortAvailable()) {
    throw invalid('balancing', `'auto', 'round-robin', 'kernel' or 'kernel-fair' here ('reuse-port' needs Node.js 22.12+ or 23.1+ on Linux or FreeBSD; this is ${process.version} on ${process.platform})`, generic.balancing);
  }

  const healthPath = endpointPath('healthPath', options.healthPath, DEFAULT_HEALTH_PATH);
  const metricsPath = endpointPath('metricsPath', options.metricsPath, DEFAULT_METRICS_PATH);
  if (healthPath !== false && healthPath === metricsPath) throw invalid('metricsPath', 'different from options.healthPath', metricsPath);
  const readyPath = endpointPath('readyPath', options.readyPath, DEFAULT_READY_PATH);
  if (readyPath !== false && (readyPath === healthPath || readyPath === metricsPath)) {
    throw invalid('readyPath', 'different from options.healthPath and options.metricsPath', readyPath);
  }

  // Checked here, not when the first logger is made: a missing dev dependency should fail the start with a hint, not a stack.
  if (generic.logPretty && !prettyInstalled()) {
    throw new InvalidOptionError('logPretty', `needs ${PRETTY_MODULE}, which is not installed: npm install --save-dev ${PRETTY_MODULE}`);
  }

  const { services, shards } = resolveServices(options.services, cwd);
  const authenticate = resolveModulePath('authenticate', options.authenticate, cwd);
  const jwt = resolveJwt(options.jwt, cwd);
  if (authenticate !== false && jwt !== false) throw invalid('jwt', 'false when options.authenticate is set (one authenticator)', '(an object)');
  if (authenticate === false && jwt === false) {
    // Without an authenticator no connection has a user: every client would silently fall back to its id.
    const byUser = Object.keys(shards).find((name) => shards[name]?.shardBy.kind === 'user');
    if (byUser !== undefined) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.services.${byUser}.shardBy "user" needs options.authenticate or options.jwt`);
  }
  // Every custom option is named here: the type requires one entry per key of ResolvedOptions.
  const resolved: ResolvedOptions = {
    ...generic,
    host: resolveHost(options.host),
    services,
    shards,
    forwardHeaders: resolveForwardHeaders(options.forwardHeaders),
    cwd,
    healthPath,
    metricsPath,
    readyPath,
    staticDir: resolveStaticDir(options.staticDir, cwd, services),
    allowedOrigins: resolveAllowedOrigins(options.allowedOrigins),
    authenticate,
    jwt,
    http: resolveModulePath('http', options.http, cwd),
    tls: resolveTls(options.tls, cwd),
    trustProxy: resolveTrustProxy(options.trustProxy),
    opsPort: resolveOpsPort(options.opsPort, generic.port),
    opsHost: resolveOpsHost(options.opsHost),
    corsOrigins: resolveCorsOrigins(options.corsOrigins),
    ...resolveCluster(options.cluster, options.services, shards),
  };
  return Object.freeze(resolved);
}

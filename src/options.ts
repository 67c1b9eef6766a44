/**
 * Options, resolved and validated in one place. The CLI, the config file and
 * the library API all end up in `resolveOptions()`. What each option is (type,
 * bounds, default, docs) lives in one table, `OPTION_SPECS` in options-spec.ts;
 * integers, booleans and enums are validated from it, the rest by the named
 * resolvers below.
 */
import { realpathSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import * as path from 'node:path';
import { reusePortAvailable } from './balancing';
import { SwitchyardError } from './errors';
import { closest } from './did-you-mean';
import { PRETTY_MODULE, prettyInstalled } from './log-pretty';
import { describeOption, type OptionOrigins } from './options-origin';
import { DEFAULT_SHARD_BY, SHARD_BY_FORMS, parseShardBy, type ServiceShards } from './shard-key';
import { SUBJECT_TOKEN_PATTERN } from './nats/channel-router';
import { resolveClusterOptions, type ResolvedCluster } from './nats/cluster-options';
import { isUrlObject, moduleFile } from './user-module';
// Only the type: the module is required where a proxy is trusted, so the default path never loads it.
import type ProxyAddr from 'proxy-addr';
import {
  OPTION_NAMES,
  OPTION_SPECS,
  type Balancing,
  type JwtOptions,
  type LogLevel,
  type OptionName,
  type OptionSpec,
  type SwitchyardOptions,
  type TlsOptions,
} from './options-spec';

export { BALANCING_MODES, LOG_LEVELS, OPTION_SPECS } from './options-spec';
export type { Balancing, JwtOptions, LogLevel, ServiceDefinition, SwitchyardOptions, TlsOptions, TokenSource } from './options-spec';

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

/** Most instances of one service. */
export const MAX_INSTANCES = 64;

// Kept for the modules and tests that import them; each reads the table, so the value lives in one place.
export const DEFAULT_PORT = OPTION_SPECS.port.default;
export const DEFAULT_HOST = OPTION_SPECS.host.default;
export const DEFAULT_LOG_LEVEL: LogLevel = OPTION_SPECS.logLevel.default;
export const DEFAULT_BALANCING: Balancing = OPTION_SPECS.balancing.default;
export const DEFAULT_FORWARD_HEADERS: readonly string[] = OPTION_SPECS.forwardHeaders.default;
export const DEFAULT_MAX_PAYLOAD = OPTION_SPECS.maxPayload.default;
export const DEFAULT_START_TIMEOUT = OPTION_SPECS.startTimeout.default;
export const DEFAULT_STOP_TIMEOUT = OPTION_SPECS.stopTimeout.default;
export const DEFAULT_RESTART_DELAY = OPTION_SPECS.restartDelay.default;
export const DEFAULT_MAX_RESTART_DELAY = OPTION_SPECS.maxRestartDelay.default;
export const DEFAULT_CRASH_LOOP_COUNT = OPTION_SPECS.crashLoopCount.default;
export const DEFAULT_CRASH_LOOP_WINDOW = OPTION_SPECS.crashLoopWindow.default;
export const DEFAULT_IPC_MAX_QUEUED_MESSAGES = OPTION_SPECS.ipcMaxQueuedMessages.default;
export const DEFAULT_IPC_MAX_QUEUED_BYTES = OPTION_SPECS.ipcMaxQueuedBytes.default;
export const MAX_WORKERS = OPTION_SPECS.workers.max;
export const DEFAULT_HEALTH_PATH = OPTION_SPECS.healthPath.default;
export const DEFAULT_METRICS_PATH = OPTION_SPECS.metricsPath.default;
export const DEFAULT_READY_PATH = OPTION_SPECS.readyPath.default;
export const DEFAULT_REQUEST_TIMEOUT = OPTION_SPECS.requestTimeout.default;
export const DEFAULT_MAX_REQUEST_BODY = OPTION_SPECS.maxRequestBody.default;
export const DEFAULT_MAX_BUFFERED_BYTES = OPTION_SPECS.maxBufferedBytes.default;
export const DEFAULT_HEARTBEAT_INTERVAL = OPTION_SPECS.heartbeatInterval.default;
export const DEFAULT_IDLE_TIMEOUT = OPTION_SPECS.idleTimeout.default;
export const DEFAULT_HANDSHAKE_TIMEOUT = OPTION_SPECS.handshakeTimeout.default;
export const DEFAULT_MAX_CONNECTIONS_PER_WORKER = OPTION_SPECS.maxConnectionsPerWorker.default;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = OPTION_SPECS.maxConnectionsPerIp.default;
export const DEFAULT_MAX_MESSAGES_PER_SECOND = OPTION_SPECS.maxMessagesPerSecond.default;
export const DEFAULT_ALLOWED_ORIGINS = OPTION_SPECS.allowedOrigins.default;
export const DEFAULT_PER_MESSAGE_DEFLATE = OPTION_SPECS.perMessageDeflate.default;
export const DEFAULT_MAX_HEADER_SIZE = OPTION_SPECS.maxHeaderSize.default;
/** HTTP requests below this prefix go to a service's `onRequest`: `/services/<name>[/...]`. */
export const SERVICE_HTTP_PREFIX = '/services/';

/** Service names are URL path segments: letters, digits, `_` and `-`. */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The bundled demo chat page, at the package root (the same folder from src or dist). */
export function bundledPublicDir(): string {
  return path.join(__dirname, '..', 'public');
}

/** The bundled example services, resolved next to this module (src or dist). */
export function bundledServices(): Readonly<Record<string, string>> {
  const extension = path.extname(__filename);
  const folder = path.join(__dirname, 'services', 'examples');
  return Object.freeze({
    echo: path.join(folder, `echo${extension}`),
    chat: path.join(folder, `chat${extension}`),
  });
}

const KNOWN_KEYS: ReadonlySet<string> = new Set<string>(OPTION_NAMES);

function endpointPath(name: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(value) || value.startsWith(SERVICE_HTTP_PREFIX)) {
    throw invalid(name, `false or a path starting with "/" (not below ${SERVICE_HTTP_PREFIX})`, value);
  }
  return value;
}

/**
 * A bad option, named by its dotted path; `resolveOptions()` renames it after
 * where the value came from (flag, environment, config file) before it
 * leaves, so every resolver below just names the option.
 */
class InvalidOptionError extends SwitchyardError {
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super('SY_ERR_INVALID_OPTION', `options.${option} ${problem}`);
  }
}

function invalid(name: string, requirement: string, value: unknown): SwitchyardError {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return new InvalidOptionError(name, `must be ${requirement}, got ${shown}`);
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number, off: 0 | undefined): number {
  if (value === undefined) return fallback;
  if (off !== undefined && value === off) return off;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `${off === undefined ? '' : `${off} (off) or `}an integer from ${min} to ${max}`, value);
  }
  return value;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(name, 'true or false', value);
  return value;
}

/** A serialized origin (scheme://host[:port], no path): what browsers send and what is compared exactly. */
function isOrigin(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

function resolveAllowedOrigins(value: unknown): '*' | readonly string[] {
  if (value === undefined || value === '*') return DEFAULT_ALLOWED_ORIGINS;
  // An empty list would refuse every upgrade: more likely a mistake than a wish.
  if (!Array.isArray(value) || value.length === 0) throw invalid('allowedOrigins', '"*" or a non-empty array of origins', value);
  value.forEach((origin: unknown, index) => {
    if (!isOrigin(origin)) throw invalid(`allowedOrigins.${index}`, 'an origin like "https://example.com" (scheme, host, optional port; no path)', origin);
  });
  return Object.freeze([...(value as string[])]);
}

const TLS_KEYS: ReadonlySet<string> = new Set(['cert', 'key', 'ca', 'passphrase']);

/** `tls`: the file paths made absolute against `cwd` (the files themselves are read by the master at start, see tls-material.ts). */
function resolveTls(value: unknown, cwd: string): TlsOptions | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('tls', 'false or an object { cert, key, ca?, passphrase? }', value);
  const given = value as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(given)) if (!TLS_KEYS.has(key)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.tls.${key} is not a known option`);
  const file = (name: 'cert' | 'key' | 'ca'): string | undefined => {
    const file = given[name];
    if (file === undefined && name === 'ca') return undefined;
    if (typeof file !== 'string' || file.length === 0) throw invalid(`tls.${name}`, 'a PEM file path', file);
    return path.resolve(cwd, file);
  };
  const { passphrase } = given;
  if (passphrase !== undefined && typeof passphrase !== 'string') throw invalid('tls.passphrase', 'a string', passphrase);
  const ca = file('ca');
  return Object.freeze({ cert: file('cert') as string, key: file('key') as string, ...(ca === undefined ? {} : { ca }), ...(passphrase === undefined ? {} : { passphrase }) });
}

/** `trustProxy`: a list of what proxy-addr accepts (checked by compiling it, loaded only then), or false. */
function resolveTrustProxy(value: unknown): false | readonly string[] {
  if (value === undefined || value === false) return false;
  const list: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  if (list.length === 0 || !list.every((entry) => typeof entry === 'string' && entry.length > 0)) {
    throw invalid('trustProxy', 'false, an address or CIDR range (or "loopback", "linklocal", "uniquelocal"), or a non-empty list of them', value);
  }
  const entries = (list as string[]).flatMap((entry) => entry.split(',').map((part) => part.trim()));
  const proxyaddr = require('proxy-addr') as typeof ProxyAddr;
  entries.forEach((entry, index) => {
    try {
      proxyaddr.compile(entry);
    } catch {
      throw invalid(`trustProxy${Array.isArray(value) ? `.${index}` : ''}`, 'an IP address, a CIDR range or "loopback", "linklocal", "uniquelocal"', entry);
    }
  });
  return Object.freeze(entries);
}

function resolveCorsOrigins(value: unknown): false | '*' | readonly string[] {
  if (value === undefined || value === false) return false;
  if (value === '*') return '*';
  if (!Array.isArray(value) || value.length === 0) throw invalid('corsOrigins', 'false, "*" or a non-empty array of origins', value);
  value.forEach((origin: unknown, index) => {
    if (!isOrigin(origin)) throw invalid(`corsOrigins.${index}`, 'an origin like "https://example.com" (scheme, host, optional port; no path)', origin);
  });
  return Object.freeze([...(value as string[])]);
}


/** What a module option must be: a path, a `file:` URL string or a `URL` (moduleFile() in user-module.ts reads them all). */
const MODULE_PATH = 'a module path';

const ONE_INSTANCE: ServiceShards = Object.freeze({ instances: 1, shardBy: DEFAULT_SHARD_BY });
const DEFINITION_KEYS: ReadonlySet<string> = new Set(['module', 'instances', 'shardBy', 'node', 'nodes']);

/** One service's object form, `{ module, instances, shardBy }`: its module path and how it is sharded. */
function resolveDefinition(name: string, definition: Readonly<Record<string, unknown>>): { readonly modulePath: unknown; readonly shards: ServiceShards } {
  for (const key of Object.keys(definition)) {
    if (!DEFINITION_KEYS.has(key)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.services.${name}.${key} is not a known field (module, instances, shardBy, node, nodes)`);
  }
  if (moduleFile(definition.module, '/') === undefined) throw invalid(`services.${name}.module`, MODULE_PATH, definition.module);
  const instances = integer(`services.${name}.instances`, definition.instances, 1, 1, MAX_INSTANCES, undefined);
  let shardBy = DEFAULT_SHARD_BY;
  if (definition.shardBy !== undefined) {
    const parsed = typeof definition.shardBy === 'string' ? parseShardBy(definition.shardBy) : undefined;
    if (parsed === undefined) throw invalid(`services.${name}.shardBy`, SHARD_BY_FORMS, definition.shardBy);
    shardBy = parsed;
  }
  return { modulePath: definition.module, shards: instances === 1 && shardBy === DEFAULT_SHARD_BY ? ONE_INSTANCE : Object.freeze({ instances, shardBy }) };
}

/** A service's `node` or `nodes`, as the list instance `i` takes `i % length` of; undefined when it has neither (or the string form). */
function placementOf(name: string, given: unknown): readonly string[] | undefined {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return undefined;
  const { node, nodes } = given as Readonly<Record<string, unknown>>;
  if (node !== undefined && nodes !== undefined) throw invalid(`services.${name}.nodes`, 'not given together with node', nodes);
  if (node !== undefined) {
    if (typeof node !== 'string' || !SUBJECT_TOKEN_PATTERN.test(node)) throw invalid(`services.${name}.node`, 'a node name (1 to 64 letters, digits, "_" or "-")', node);
    return [node];
  }
  if (nodes === undefined) return undefined;
  if (!Array.isArray(nodes) || nodes.length === 0) throw invalid(`services.${name}.nodes`, 'a non-empty array of node names', nodes);
  nodes.forEach((item: unknown, index) => {
    if (typeof item !== 'string' || !SUBJECT_TOKEN_PATTERN.test(item)) throw invalid(`services.${name}.nodes.${index}`, 'a node name (1 to 64 letters, digits, "_" or "-")', item);
  });
  return nodes as string[];
}

/**
 * `cluster` and the placement of every instance. Without `cluster` any
 * placement is ignored, so one config file also runs on one machine in
 * development; with it, a service placed nowhere fails the start (an
 * instance that runs nowhere would hold its clients' events for ever).
 */
function resolveCluster(value: unknown, given: unknown, shards: Readonly<Record<string, ServiceShards>>): Pick<ResolvedOptions, 'cluster' | 'placement'> {
  if (value === undefined || value === false) return { cluster: false, placement: Object.freeze({}) };
  const definitions = (typeof given === 'object' && given !== null ? given : {}) as Readonly<Record<string, unknown>>;
  const placement: Record<string, readonly string[]> = {};
  const placed = new Set<string>();
  for (const [name, shard] of Object.entries(shards)) {
    const nodes = placementOf(name, definitions[name]);
    if (nodes === undefined) {
      throw new InvalidOptionError(`services.${name}`, 'needs a placement with options.cluster: { "module": …, "node": "<node>" } or "nodes": [ … ]');
    }
    placement[name] = Object.freeze(Array.from({ length: shard.instances }, (_, index) => nodes[index % nodes.length] as string));
    for (const node of nodes) placed.add(node);
  }
  return { cluster: resolveClusterOptions(value, [...placed]) as ResolvedCluster, placement: Object.freeze(placement) };
}

function resolveServices(value: unknown, cwd: string): Pick<ResolvedOptions, 'services' | 'shards'> {
  if (value === undefined) {
    const services = bundledServices();
    return { services, shards: Object.freeze(Object.fromEntries(Object.keys(services).map((name) => [name, ONE_INSTANCE]))) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('services', 'an object of name → module path or { module, instances, shardBy }', value);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw invalid('services', 'an object with at least one service', value);
  const services: Record<string, string> = {};
  const shards: Record<string, ServiceShards> = {};
  for (const [name, given] of entries) {
    if (!SERVICE_NAME_PATTERN.test(name)) {
      throw invalid(`services.${name}`, 'named with letters, digits, "_" or "-" (at most 64, not starting with "_" or "-")', name);
    }
    // A URL is an object too, but a module path, not a definition.
    const isDefinition = typeof given === 'object' && given !== null && !Array.isArray(given) && !isUrlObject(given);
    const { modulePath, shards: shard } = isDefinition ? resolveDefinition(name, given as Readonly<Record<string, unknown>>) : { modulePath: given as unknown, shards: ONE_INSTANCE };
    const file = moduleFile(modulePath, cwd);
    if (file === undefined) {
      throw invalid(`services.${name}`, isDefinition || typeof given === 'string' || isUrlObject(given) ? MODULE_PATH : `${MODULE_PATH} or { module, instances, shardBy }`, modulePath);
    }
    services[name] = file;
    shards[name] = shard;
  }
  return { services: Object.freeze(services), shards: Object.freeze(shards) };
}

function isFolder(folder: string): boolean {
  try {
    return statSync(folder).isDirectory();
  } catch {
    return false;
  }
}

function resolveStaticDir(value: unknown, cwd: string, services: Readonly<Record<string, string>>): string | false {
  if (value === false) return false;
  if (value === undefined) {
    // A build or package without public/ still runs its services; it just has no page.
    return 'chat' in services && isFolder(bundledPublicDir()) ? bundledPublicDir() : false;
  }
  if (typeof value !== 'string' || value.length === 0) throw invalid('staticDir', 'a folder path or false', value);
  const folder = path.resolve(cwd, value);
  // Checked here rather than in each worker: a typo should fail the start, not answer 404 forever.
  if (!isFolder(folder)) throw invalid('staticDir', 'an existing folder or false', folder);
  if (exposesSystem(folder)) {
    throw invalid('staticDir', 'a folder that is not a filesystem root, the home folder or a folder above it (it would serve /etc/passwd or ~/.ssh)', folder);
  }
  return folder;
}

/** Whether `inner` is `outer` or inside it (both absolute and normalised). */
function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * A filesystem root, the user's home or a folder above it: what `staticDir:
 * "/"` or `"~"` would put on the network. Symbolic links are resolved first,
 * so a link to `/` is refused too.
 */
function exposesSystem(folder: string): boolean {
  const real = realpathSync(folder);
  if (path.parse(real).root === real) return true;
  const home = homedir();
  if (home === '' || !path.isAbsolute(home)) return false;
  let realHome: string;
  try {
    realHome = realpathSync(home);
  } catch {
    realHome = path.resolve(home);
  }
  return isWithin(realHome, real);
}

/**
 * The line to log at start when `staticDir` lies outside `cwd` (allowed, but
 * worth a look: a path mistyped with `..` or an absolute path meant to be
 * relative publishes a folder nobody meant to). `undefined` when there is
 * nothing to say; the bundled page is never warned about.
 */
export function staticDirWarning(options: Pick<ResolvedOptions, 'staticDir' | 'cwd'>): string | undefined {
  const { staticDir, cwd } = options;
  if (staticDir === false || staticDir === bundledPublicDir() || isWithin(staticDir, path.resolve(cwd))) return undefined;
  return `options.staticDir (${staticDir}) is outside cwd (${cwd}): every file in it is served to anyone who can reach the port`;
}

type GenericOptionName = { [K in OptionName]: (typeof OPTION_SPECS)[K] extends { readonly kind: 'custom' } ? never : K }[OptionName];

function oneOf<T extends string>(name: string, value: unknown, values: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!values.includes(value as T)) throw invalid(name, `one of ${values.join(', ')}`, value);
  return value as T;
}

/** An integer, boolean or enum option checked against its row of the table; custom ones are resolved by name below. */
function fromSpec(name: OptionName, spec: OptionSpec, value: unknown): unknown {
  switch (spec.kind) {
    case 'integer':
      return integer(name, value, spec.default === 'cpus' ? availableParallelism() : spec.default, spec.min, spec.max, spec.off);
    case 'boolean':
      return boolean(name, value, spec.default);
    case 'enum':
      return oneOf(name, value, spec.values, spec.default);
    case 'custom':
      return undefined;
    default: {
      const unknownKind: never = spec;
      throw new Error(`option spec of unknown kind: ${JSON.stringify(unknownKind)}`);
    }
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A module path for the workers (`authenticate`, `http`), absolute; checked to exist so a typo fails the start, not every request. */
function resolveModulePath(name: string, value: unknown, cwd: string): string | false {
  if (value === undefined || value === false) return false;
  const file = moduleFile(value, cwd);
  if (file === undefined) throw invalid(name, `${MODULE_PATH} or false`, value);
  if (!isFile(file)) throw invalid(name, 'an existing module file or false', file);
  return file;
}

const JWT_KEYS: ReadonlySet<string> = new Set(['secret', 'publicKey', 'jwksFile', 'algorithms', 'audience', 'issuer', 'clockTolerance', 'from', 'userClaim']);
const JWT_ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const TOKEN_SOURCE = /^(?:protocol|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+|query:[^\s]+|cookie:[!#$%&'*+.^_`|~0-9A-Za-z-]+)$/;

function isStringOrList(value: unknown): value is string | readonly string[] {
  if (typeof value === 'string') return value.length > 0;
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0);
}

/**
 * The `jwt` option: exactly one key source (files checked to exist, read by
 * each worker), known algorithms that fit it, token sources of the four
 * kinds. A mistake here fails the start rather than answer every client 401.
 */
function resolveJwt(value: unknown, cwd: string): JwtOptions | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('jwt', 'an object or false', value);
  const given = value as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(given)) if (!JWT_KEYS.has(key)) throw invalid(`jwt.${key}`, 'a known field (see docs/authentication.md)', given[key]);
  const sources = ['secret', 'publicKey', 'jwksFile'].filter((key) => given[key] !== undefined);
  if (sources.length !== 1) throw invalid('jwt', 'given exactly one of secret, publicKey, jwksFile', sources);
  const resolved: Record<string, unknown> = {};
  if (given.secret !== undefined) {
    // HS256 needs at least 256 bits of key (RFC 7518 §3.2); a short secret is guessable offline from one token.
    if (typeof given.secret !== 'string' || Buffer.byteLength(given.secret) < 32) throw invalid('jwt.secret', 'a string of at least 32 bytes', '(hidden)');
    resolved.secret = given.secret;
  }
  for (const key of ['publicKey', 'jwksFile'] as const) {
    if (given[key] === undefined) continue;
    if (typeof given[key] !== 'string' || given[key].length === 0) throw invalid(`jwt.${key}`, 'a file path', given[key]);
    const file = path.resolve(cwd, given[key]);
    if (!isFile(file)) throw invalid(`jwt.${key}`, 'an existing file', file);
    resolved[key] = file;
  }
  const algorithms = given.algorithms ?? (given.secret !== undefined ? ['HS256'] : ['RS256', 'ES256']);
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => typeof a === 'string' && JWT_ALGORITHMS.has(a))) {
    throw invalid('jwt.algorithms', `a non-empty array of ${[...JWT_ALGORITHMS].join(', ')}`, algorithms);
  }
  // A shared secret with an asymmetric algorithm (or a public key with HS256) is the classic algorithm-confusion hole.
  const symmetric = algorithms.map((a: string) => a.startsWith('HS'));
  if (symmetric.some((s) => s !== (given.secret !== undefined))) {
    throw invalid('jwt.algorithms', given.secret !== undefined ? 'HS256, HS384 or HS512 with a secret' : 'asymmetric algorithms (not HS*) with a public key or JWKS', algorithms);
  }
  resolved.algorithms = Object.freeze([...(algorithms as string[])]);
  for (const key of ['audience', 'issuer'] as const) {
    if (given[key] === undefined) continue;
    if (!isStringOrList(given[key])) throw invalid(`jwt.${key}`, 'a non-empty string or array of them', given[key]);
    resolved[key] = given[key];
  }
  resolved.clockTolerance = integer('jwt.clockTolerance', given.clockTolerance, 0, 0, 3600, undefined);
  const from = given.from ?? ['header:authorization', 'protocol', 'cookie:token', 'query:token'];
  if (!Array.isArray(from) || from.length === 0 || !from.every((f) => typeof f === 'string' && TOKEN_SOURCE.test(f))) {
    throw invalid('jwt.from', 'a non-empty array of "header:<name>", "query:<name>", "cookie:<name>" or "protocol"', from);
  }
  resolved.from = Object.freeze(from.map((f: string) => (f.startsWith('header:') ? f.toLowerCase() : f)));
  const userClaim = given.userClaim ?? 'sub';
  if (typeof userClaim !== 'string' || userClaim.length === 0) throw invalid('jwt.userClaim', 'a claim name', userClaim);
  resolved.userClaim = userClaim;
  return Object.freeze(resolved) as JwtOptions;
}

function resolveOpsPort(value: unknown, port: number): number | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw invalid('opsPort', 'false or an integer from 0 to 65535', value);
  if (value !== 0 && value === port) throw invalid('opsPort', `different from options.port (${port})`, value);
  return value;
}

function resolveHost(value: unknown): string {
  const host = value ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.length === 0) throw invalid('host', 'a non-empty string', host);
  return host;
}

function resolveOpsHost(value: unknown): string {
  if (value === undefined) return OPTION_SPECS.opsHost.default;
  if (typeof value !== 'string' || value.length === 0) throw invalid('opsHost', 'a non-empty string', value);
  return value;
}

function resolveForwardHeaders(value: unknown): readonly string[] {
  const forwardHeaders = value ?? DEFAULT_FORWARD_HEADERS;
  if (!Array.isArray(forwardHeaders) || !forwardHeaders.every((h) => typeof h === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h))) {
    throw invalid('forwardHeaders', 'an array of header names', forwardHeaders);
  }
  return Object.freeze(forwardHeaders.map((h: string) => h.toLowerCase()));
}

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

/**
 * Options, resolved and validated in one place. The CLI, the config file and
 * the library API all end up in `resolveOptions()`.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { SwitchyardError } from './errors';
import { MAX_MESSAGE_LENGTH } from './protocol';

/** How new connections are spread over the workers; see `SwitchyardOptions.balancing`. */
export type Balancing = 'round-robin' | 'kernel';

export const BALANCING_MODES: readonly Balancing[] = ['round-robin', 'kernel'];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface SwitchyardOptions {
  /** TCP port to listen on; 0 picks a free one. Default `8080`. */
  readonly port?: number;
  /** Address to bind. Default `'0.0.0.0'`. */
  readonly host?: string;
  /** Number of client-handling worker processes. Default `os.availableParallelism()`. */
  readonly workers?: number;
  /**
   * Services by name: the value is the path of a module whose default export
   * extends `Service`. Relative paths resolve against `cwd`. Default: the
   * bundled examples, `echo` and `chat`.
   */
  readonly services?: Readonly<Record<string, string>>;
  /** Default `'info'`. */
  readonly logLevel?: LogLevel;
  /** Request headers passed to `onConnect`. Default `['origin', 'user-agent', 'accept-language']`. */
  readonly forwardHeaders?: readonly string[];
  /** Largest WebSocket message accepted, in bytes; larger ones close with 1009. Default 1 MiB. */
  readonly maxPayload?: number;
  /** How long `listen()` waits for every process to be ready, in ms. Default `30000`. */
  readonly startTimeout?: number;
  /** How long `close()` waits for processes to exit before SIGKILL, in ms. Default `10000`. */
  readonly stopTimeout?: number;
  /** First delay before restarting a crashed process, in ms; doubles per crash. Default `100`. */
  readonly restartDelay?: number;
  /** Longest delay between restarts, in ms. Default `10000`. */
  readonly maxRestartDelay?: number;
  /** Crashes within `crashLoopWindow` after which a service is not restarted again (marked failed). Default `5`. */
  readonly crashLoopCount?: number;
  /** Window for `crashLoopCount`, in ms. Default `60000`. */
  readonly crashLoopWindow?: number;
  /** Most messages one IPC queue holds while its channel is busy. Default `100000`. */
  readonly ipcMaxQueuedMessages?: number;
  /** Most payload bytes one IPC queue holds while its channel is busy. Default 64 MiB. */
  readonly ipcMaxQueuedBytes?: number;
  /** Directory relative service paths resolve against. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Path of the health endpoint (plain GET), or `false` to turn it off. Default `'/healthz'`. */
  readonly healthPath?: string | false;
  /** Path of the Prometheus endpoint (plain GET), or `false` to turn it off. Default `'/metrics'`. */
  readonly metricsPath?: string | false;
  /** How long a request to a service may take, in ms: HTTP answers 504 after it, the envelope an error. Default `10000`. */
  readonly requestTimeout?: number;
  /** Largest HTTP request body for a service, in bytes; larger gets 413. Default 1 MiB. */
  readonly maxRequestBody?: number;
  /**
   * Folder of files the workers serve over plain HTTP GET/HEAD (`/` serves
   * `index.html`), e.g. the demo chat page. A string resolves against `cwd`;
   * `false` turns static serving off. Service paths are never shadowed.
   * Default: the bundled `public/` folder when a service named `chat` is
   * configured, else `false`.
   */
  readonly staticDir?: string | false;
  /**
   * Most bytes waiting to be written to one client (`ws.bufferedAmount`). A
   * send that leaves more queued closes the client with 1013 (a slow
   * consumer); one that cannot take the close is terminated after a short
   * grace. Default 4 MiB.
   */
  readonly maxBufferedBytes?: number;
  /**
   * Every this many ms each worker pings all its clients; a client that has
   * not answered the previous ping is terminated (its service sees 1006).
   * `0` turns heartbeats off. Default `30000`.
   */
  readonly heartbeatInterval?: number;
  /** A client that sends no message for this many ms is closed with 1000 "idle timeout". `0` turns it off. Default `0`. */
  readonly idleTimeout?: number;
  /**
   * How long a connection may take to send complete HTTP request headers
   * (node:http's `headersTimeout`, which also covers upgrade requests), in
   * ms; slower ones get 408. Default `10000`.
   */
  readonly handshakeTimeout?: number;
  /** Most WebSocket clients one worker holds; further upgrades get 503 with `Retry-After`. Default `10000`. */
  readonly maxConnectionsPerWorker?: number;
  /**
   * Most WebSocket clients one worker holds from one remote address (counted
   * per worker, not per cluster); further upgrades get 429 with
   * `Retry-After`. Default `1000`.
   */
  readonly maxConnectionsPerIp?: number;
  /**
   * Messages one client may send per second, with bursts of as many (a token
   * bucket); beyond it the client is closed with 1008 "rate limit". `0` turns
   * it off. Default `1000`.
   */
  readonly maxMessagesPerSecond?: number;
  /**
   * Origins (exact, e.g. `'https://example.com'`) whose pages may open a
   * WebSocket; an upgrade with another or no `Origin` header gets 403.
   * `'*'` allows any. Default `'*'`.
   */
  readonly allowedOrigins?: '*' | readonly string[];
  /** Whether clients may negotiate permessage-deflate (costs CPU and memory per socket). Default `false`. */
  readonly perMessageDeflate?: boolean;
  /** Largest HTTP request head, in bytes (node:http's `maxHeaderSize`); larger gets 431. Default 16 KiB. */
  readonly maxHeaderSize?: number;
  /**
   * How new connections reach the workers. `'round-robin'`: the master accepts
   * each connection and hands it to the next worker in turn (even spread,
   * but every accept costs the master a syscall and an IPC hand-off).
   * `'kernel'`: the workers accept from the shared socket themselves (faster
   * connection storms, less master CPU, but the spread over workers is uneven
   * and stays so for the life of the connections). Node's cluster fixes this
   * once per process: the first server started in a process decides. Default
   * `'round-robin'`.
   */
  readonly balancing?: Balancing;
}

export type ResolvedOptions = { readonly [K in keyof SwitchyardOptions]-?: Exclude<SwitchyardOptions[K], undefined> };

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_BALANCING: Balancing = 'round-robin';
export const DEFAULT_FORWARD_HEADERS: readonly string[] = ['origin', 'user-agent', 'accept-language'];
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
export const DEFAULT_START_TIMEOUT = 30_000;
export const DEFAULT_STOP_TIMEOUT = 10_000;
export const DEFAULT_RESTART_DELAY = 100;
export const DEFAULT_MAX_RESTART_DELAY = 10_000;
export const DEFAULT_CRASH_LOOP_COUNT = 5;
export const DEFAULT_CRASH_LOOP_WINDOW = 60_000;
export const DEFAULT_IPC_MAX_QUEUED_MESSAGES = 100_000;
export const DEFAULT_IPC_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
export const MAX_WORKERS = 256;
export const DEFAULT_HEALTH_PATH = '/healthz';
export const DEFAULT_METRICS_PATH = '/metrics';
export const DEFAULT_REQUEST_TIMEOUT = 10_000;
export const DEFAULT_MAX_REQUEST_BODY = 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_INTERVAL = 30_000;
export const DEFAULT_IDLE_TIMEOUT = 0;
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
export const DEFAULT_MAX_CONNECTIONS_PER_WORKER = 10_000;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 1000;
export const DEFAULT_MAX_MESSAGES_PER_SECOND = 1000;
export const DEFAULT_ALLOWED_ORIGINS = '*';
export const DEFAULT_PER_MESSAGE_DEFLATE = false;
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
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

const KNOWN_KEYS: ReadonlySet<string> = new Set<keyof SwitchyardOptions>([
  'port', 'host', 'workers', 'services', 'logLevel', 'forwardHeaders', 'maxPayload', 'startTimeout',
  'stopTimeout', 'restartDelay', 'maxRestartDelay', 'ipcMaxQueuedMessages', 'ipcMaxQueuedBytes', 'cwd', 'staticDir',
  'healthPath', 'metricsPath', 'requestTimeout', 'maxRequestBody', 'crashLoopCount', 'crashLoopWindow',
  'maxBufferedBytes', 'heartbeatInterval', 'idleTimeout', 'handshakeTimeout', 'maxConnectionsPerWorker',
  'maxConnectionsPerIp', 'maxMessagesPerSecond', 'allowedOrigins', 'perMessageDeflate', 'maxHeaderSize', 'balancing',
]);

function endpointPath(name: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(value) || value.startsWith(SERVICE_HTTP_PREFIX)) {
    throw invalid(name, `false or a path starting with "/" (not below ${SERVICE_HTTP_PREFIX})`, value);
  }
  return value;
}

function invalid(name: string, requirement: string, value: unknown): SwitchyardError {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return new SwitchyardError('SY_ERR_INVALID_OPTION', `options.${name} must be ${requirement}, got ${shown}`);
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `an integer from ${min} to ${max}`, value);
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

function resolveServices(value: unknown, cwd: string): Readonly<Record<string, string>> {
  if (value === undefined) return bundledServices();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('services', 'an object of name → module path', value);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw invalid('services', 'an object with at least one service', value);
  const services: Record<string, string> = {};
  for (const [name, modulePath] of entries) {
    if (!SERVICE_NAME_PATTERN.test(name)) {
      throw invalid(`services.${name}`, 'named with letters, digits, "_" or "-" (at most 64, not starting with "_" or "-")', name);
    }
    if (typeof modulePath !== 'string' || modulePath.length === 0) {
      throw invalid(`services.${name}`, 'a module path', modulePath);
    }
    services[name] = path.resolve(cwd, modulePath);
  }
  return Object.freeze(services);
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
  return folder;
}

/** Merges `options` over the defaults, validates every field and freezes the result. */
export function resolveOptions(options: SwitchyardOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new SwitchyardError('SY_ERR_INVALID_OPTION', 'options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.${key} is not a known option`);
  }
  const cwd = options.cwd ?? process.cwd();
  if (typeof cwd !== 'string' || !path.isAbsolute(cwd)) throw invalid('cwd', 'an absolute path', cwd);

  const host = options.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.length === 0) throw invalid('host', 'a non-empty string', host);

  const logLevel = options.logLevel ?? DEFAULT_LOG_LEVEL;
  if (!LOG_LEVELS.includes(logLevel)) throw invalid('logLevel', `one of ${LOG_LEVELS.join(', ')}`, logLevel);

  const forwardHeaders = options.forwardHeaders ?? DEFAULT_FORWARD_HEADERS;
  if (!Array.isArray(forwardHeaders) || !forwardHeaders.every((h) => typeof h === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h))) {
    throw invalid('forwardHeaders', 'an array of header names', forwardHeaders);
  }

  const balancing = options.balancing ?? DEFAULT_BALANCING;
  if (!BALANCING_MODES.includes(balancing)) throw invalid('balancing', `one of ${BALANCING_MODES.join(', ')}`, balancing);

  const healthPath = endpointPath('healthPath', options.healthPath, DEFAULT_HEALTH_PATH);
  const metricsPath = endpointPath('metricsPath', options.metricsPath, DEFAULT_METRICS_PATH);
  if (healthPath !== false && healthPath === metricsPath) throw invalid('metricsPath', 'different from options.healthPath', metricsPath);

  const restartDelay = integer('restartDelay', options.restartDelay, DEFAULT_RESTART_DELAY, 0, 3_600_000);
  const maxRestartDelay = integer('maxRestartDelay', options.maxRestartDelay, DEFAULT_MAX_RESTART_DELAY, 0, 3_600_000);
  if (maxRestartDelay < restartDelay) throw invalid('maxRestartDelay', `at least options.restartDelay (${restartDelay})`, maxRestartDelay);

  const services = resolveServices(options.services, cwd);

  return Object.freeze({
    port: integer('port', options.port, DEFAULT_PORT, 0, 65535),
    host,
    workers: integer('workers', options.workers, availableParallelism(), 1, MAX_WORKERS),
    services,
    logLevel,
    forwardHeaders: Object.freeze(forwardHeaders.map((h) => h.toLowerCase())),
    maxPayload: integer('maxPayload', options.maxPayload, DEFAULT_MAX_PAYLOAD, 1, MAX_MESSAGE_LENGTH),
    startTimeout: integer('startTimeout', options.startTimeout, DEFAULT_START_TIMEOUT, 1, 3_600_000),
    stopTimeout: integer('stopTimeout', options.stopTimeout, DEFAULT_STOP_TIMEOUT, 1, 3_600_000),
    restartDelay,
    maxRestartDelay,
    crashLoopCount: integer('crashLoopCount', options.crashLoopCount, DEFAULT_CRASH_LOOP_COUNT, 1, 1_000_000),
    crashLoopWindow: integer('crashLoopWindow', options.crashLoopWindow, DEFAULT_CRASH_LOOP_WINDOW, 1, 86_400_000),
    ipcMaxQueuedMessages: integer('ipcMaxQueuedMessages', options.ipcMaxQueuedMessages, DEFAULT_IPC_MAX_QUEUED_MESSAGES, 1, 100_000_000),
    ipcMaxQueuedBytes: integer('ipcMaxQueuedBytes', options.ipcMaxQueuedBytes, DEFAULT_IPC_MAX_QUEUED_BYTES, 1024, 16 * 1024 * 1024 * 1024),
    cwd,
    healthPath,
    metricsPath,
    requestTimeout: integer('requestTimeout', options.requestTimeout, DEFAULT_REQUEST_TIMEOUT, 1, 3_600_000),
    maxRequestBody: integer('maxRequestBody', options.maxRequestBody, DEFAULT_MAX_REQUEST_BODY, 0, 1024 * 1024 * 1024),
    staticDir: resolveStaticDir(options.staticDir, cwd, services),
    maxBufferedBytes: integer('maxBufferedBytes', options.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES, 1024, 1024 * 1024 * 1024),
    heartbeatInterval: integer('heartbeatInterval', options.heartbeatInterval, DEFAULT_HEARTBEAT_INTERVAL, 0, 3_600_000),
    idleTimeout: integer('idleTimeout', options.idleTimeout, DEFAULT_IDLE_TIMEOUT, 0, 86_400_000),
    handshakeTimeout: integer('handshakeTimeout', options.handshakeTimeout, DEFAULT_HANDSHAKE_TIMEOUT, 1, 3_600_000),
    maxConnectionsPerWorker: integer('maxConnectionsPerWorker', options.maxConnectionsPerWorker, DEFAULT_MAX_CONNECTIONS_PER_WORKER, 1, 10_000_000),
    maxConnectionsPerIp: integer('maxConnectionsPerIp', options.maxConnectionsPerIp, DEFAULT_MAX_CONNECTIONS_PER_IP, 1, 10_000_000),
    maxMessagesPerSecond: integer('maxMessagesPerSecond', options.maxMessagesPerSecond, DEFAULT_MAX_MESSAGES_PER_SECOND, 0, 10_000_000),
    allowedOrigins: resolveAllowedOrigins(options.allowedOrigins),
    perMessageDeflate: boolean('perMessageDeflate', options.perMessageDeflate, DEFAULT_PER_MESSAGE_DEFLATE),
    maxHeaderSize: integer('maxHeaderSize', options.maxHeaderSize, DEFAULT_MAX_HEADER_SIZE, 1024, 1024 * 1024),
    balancing,
  });
}

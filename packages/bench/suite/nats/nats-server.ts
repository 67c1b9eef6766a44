/**
 * Real nats-server processes on loopback, for the suite's `--nats` rows and
 * for the server's own multi-node tests (test/helpers/nats-server.ts wraps
 * this module: the bench package must not import from test/, and what only
 * tests and benchmarks need must not ship with the server, so it lives here).
 * One server, or a cluster joined by routes, on ports the servers pick
 * themselves (`-p -1`, `-m -1`, `--ports_file_dir`), and their monitoring
 * endpoint (`/varz`, `/connz`, `/routez`).
 *
 * Readiness is an event: a server is ready when its ports file holds every
 * port it was asked to open (woken by the folder's change events and the
 * server's log lines); a cluster is ready when every server's monitoring
 * endpoint reports a route to each other one. `stopAllNats()` kills every
 * server started through this module and removes their folders.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

/** The nats-server binary: NATS_SERVER, else the first `nats-server` on PATH; undefined when there is none. */
export function natsServerPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NATS_SERVER !== undefined && env.NATS_SERVER !== '') return existsSync(env.NATS_SERVER) ? env.NATS_SERVER : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Ports as nats-server writes them into its ports file. */
interface PortsFile {
  readonly nats: readonly string[];
  readonly monitoring?: readonly string[];
  readonly cluster?: readonly string[];
}

export interface NatsServerOptions {
  /** Routes to join (`nats://127.0.0.1:<cluster port>` of other servers); makes this server a cluster member. */
  readonly routes?: readonly string[];
  /** Cluster name; servers with routes need one. Default `'sy-nats'`. */
  readonly clusterName?: string;
  /** `max_payload` in bytes. Default: the server's (1 MiB). */
  readonly maxPayload?: number;
  /** Extra arguments (e.g. `--user`, `--pass`). */
  readonly args?: readonly string[];
  /** How long to wait until the server is ready, in ms. Default 10000. */
  readonly readyTimeout?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** Lines of a server's log kept (its stderr is read for its whole life: a full pipe would block it). */
const MAX_LOG_LINES = 2000;

const servers = new Set<NatsServer>();

/** GET a monitoring page as JSON (loopback, 2 s at most; no kept-alive socket is left behind). */
export function getJson(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 2000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`GET ${url} answered ${response.statusCode ?? 0}`));
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

/** One running nats-server on loopback. */
export class NatsServer {
  /** `nats://127.0.0.1:<port>` for clients. */
  readonly url: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` of the monitoring endpoint. */
  readonly monitorUrl: string;
  /** `nats://127.0.0.1:<port>` for routes, when started as a cluster member. */
  readonly clusterUrl: string | undefined;
  private readonly exited: Promise<void>;
  private exitedFlag = false;

  constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    ports: PortsFile,
    /** The server's log lines (stderr), the first `MAX_LOG_LINES`. */
    readonly log: readonly string[],
  ) {
    this.url = ports.nats[0] as string;
    this.port = Number(new URL(this.url).port);
    this.monitorUrl = ports.monitoring?.[0] as string;
    this.clusterUrl = ports.cluster?.[0];
    this.exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    }).then(() => {
      this.exitedFlag = true;
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return !this.exitedFlag;
  }

  /** The monitoring endpoint's `/varz` (in_msgs, out_msgs, connections, …). */
  varz(): Promise<Record<string, unknown>> {
    return getJson(`${this.monitorUrl}/varz`);
  }

  /** `/connz` with every connection's subscriptions. */
  connz(): Promise<Record<string, unknown>> {
    return getJson(`${this.monitorUrl}/connz?subs=1&limit=4096`);
  }

  /** Routes to other servers this one has (from `/routez`). */
  async routeCount(): Promise<number> {
    const routez = await getJson(`${this.monitorUrl}/routez`);
    return typeof routez.num_routes === 'number' ? routez.num_routes : 0;
  }

  /** SIGSTOP (`true`) or SIGCONT (`false`): the server keeps its sockets open and answers nothing meanwhile. */
  pause(paused: boolean): void {
    if (!this.exitedFlag) this.child.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Sends `signal` (SIGKILL by default) and resolves once the process has exited. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' | 'SIGINT' = 'SIGKILL'): Promise<void> {
    if (this.exitedFlag) return;
    this.child.kill(signal);
    await this.exited;
  }

  /** Kills the process (if running) and removes its folder. */
  async stop(): Promise<void> {
    servers.delete(this);
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts one nats-server (`binary`) on free loopback ports; resolves once it accepts clients. */
export async function startNatsServer(binary: string, options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sy-nats-'));
  const args = ['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--ports_file_dir', dir];
  const clustered = options.routes !== undefined;
  if (clustered) {
    args.push('--cluster', 'nats://127.0.0.1:-1', '--cluster_name', options.clusterName ?? 'sy-nats');
    if (options.routes !== undefined && options.routes.length > 0) args.push('--routes', options.routes.join(','));
  }
  if (options.maxPayload !== undefined) {
    // max_payload has no command-line flag: a config file carries it.
    const config = path.join(dir, 'server.conf');
    writeFileSync(config, `max_payload: ${options.maxPayload}\n`);
    args.push('-c', config);
  }
  args.push(...(options.args ?? []));
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  // Keep reading for the server's whole life (a full pipe would block it), keeping a bounded log.
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (log.length < MAX_LOG_LINES) log.push(line);
  });
  let ports: PortsFile;
  try {
    ports = await readyPorts(child, dir, clustered, log, options.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const server = new NatsServer(child, dir, ports, log);
  servers.add(server);
  return server;
}

/**
 * Resolves with the server's ports once its ports file holds every port it
 * was asked to open (the cluster port is written after "Server is ready");
 * woken by the folder's change events and the server's log lines.
 */
function readyPorts(child: ChildProcess, dir: string, clustered: boolean, log: readonly string[], timeoutMs: number): Promise<PortsFile> {
  return new Promise<PortsFile>((resolve, reject) => {
    const watcher = watch(dir);
    // fs.watch may coalesce the last write's event away: a slow safety check, bounded by the timeout.
    const safety = setInterval(check, 100);
    const timer = setTimeout(() => finish(new Error(`nats-server not ready within ${timeoutMs} ms:\n${log.join('\n')}`)), timeoutMs);
    function finish(outcome: PortsFile | Error): void {
      watcher.close();
      clearInterval(safety);
      clearTimeout(timer);
      child.off('exit', exited);
      child.off('error', finish);
      child.stderr?.off('data', check);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    }
    function exited(code: number | null, signal: string | null): void {
      finish(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log.join('\n')}`));
    }
    function check(): void {
      const name = readdirSync(dir).find((file) => file.endsWith('.ports'));
      if (name === undefined) return;
      let ports: PortsFile;
      try {
        ports = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as PortsFile;
      } catch {
        return; // written as we read it: the next event tells
      }
      if (ports.nats.length === 0 || ports.monitoring === undefined || (clustered && ports.cluster === undefined)) return;
      finish(ports);
    }
    watcher.on('change', check);
    watcher.on('error', finish);
    child.on('exit', exited);
    child.on('error', finish);
    child.stderr?.on('data', check);
    check();
  });
}

/** nats-servers joined by routes; `servers[i].url` for clients. */
export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** Every server's client URL. */
  readonly urls: readonly string[];
}

/**
 * Starts `size` (default 3) servers joined into one NATS cluster on loopback
 * and resolves once each has a route to every other (full mesh), checked on
 * their monitoring endpoints. On a failure the servers it started are stopped.
 */
export async function startNatsCluster(binary: string, size = 3, options: Omit<NatsServerOptions, 'routes'> = {}): Promise<NatsCluster> {
  const seed = await startNatsServer(binary, { ...options, routes: [] });
  const started = [seed];
  try {
    if (seed.clusterUrl === undefined) throw new Error(`nats-server did not log its cluster port:\n${seed.log.join('\n')}`);
    const others = await Promise.allSettled(Array.from({ length: size - 1 }, () => startNatsServer(binary, { ...options, routes: [seed.clusterUrl as string] })));
    for (const outcome of others) if (outcome.status === 'fulfilled') started.push(outcome.value);
    const failed = others.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    await waitForRoutes(started, size - 1, options.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (error) {
    await Promise.all(started.map((server) => server.stop()));
    throw error;
  }
  return { servers: started, urls: started.map((server) => server.url) };
}

/** Resolves once every running server in `group` reports exactly `routes` routes (a full mesh of n has n - 1 each). */
export async function waitForRoutes(group: readonly NatsServer[], routes: number, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Routes are gossiped between servers, with no event a client can wait on: poll the monitoring endpoint, bounded.
  for (;;) {
    const counts = await Promise.all(group.filter((server) => server.running).map((server) => server.routeCount()));
    if (counts.every((count) => count === routes)) return;
    if (Date.now() > deadline) throw new Error(`NATS cluster not meshed within ${timeoutMs} ms: routes ${counts.join(', ')}, want ${routes} each`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kills every server started through this module and removes their folders. */
export async function stopAllNats(): Promise<void> {
  await Promise.all([...servers].map((server) => server.stop()));
}

/**
 * nats-server processes for the suite's `--nats` rows: one server, or three
 * routed into a NATS cluster, on loopback and on ports the servers pick
 * themselves (`-p -1 -m -1 --ports_file_dir`), and their monitoring endpoint
 * (`/varz`, `/connz`). The server must be on PATH (or named by NATS_SERVER):
 * `natsServerPath()` says whether it is, so the suite can skip loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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

interface PortsFile {
  readonly nats?: readonly string[];
  readonly monitoring?: readonly string[];
  readonly cluster?: readonly string[];
}

const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 25;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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

/** One running nats-server. */
export class NatsServerProcess {
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** `nats://127.0.0.1:<port>` for clients. */
    readonly url: string,
    /** `http://127.0.0.1:<port>` of the monitoring endpoint. */
    readonly monitorUrl: string,
    /** `nats://127.0.0.1:<port>` for routes (cluster members only). */
    readonly clusterUrl: string | undefined,
  ) {
    this.exit = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Starts a server; `routes` (maybe empty) makes it a member of the NATS cluster `clusterName`. */
  static async start(binary: string, routes?: readonly string[], clusterName = 'sy-bench'): Promise<NatsServerProcess> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sy-bench-nats-'));
    const args = ['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--ports_file_dir', dir];
    if (routes !== undefined) {
      args.push('--cluster', 'nats://127.0.0.1:-1', '--cluster_name', clusterName);
      if (routes.length > 0) args.push('--routes', routes.join(','));
    }
    // Its log is not read: a full pipe would block it, so none is opened.
    const child = spawn(binary, args, { stdio: 'ignore' });
    let failed: Error | undefined;
    child.once('error', (error) => (failed = error));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    // The ports file is written once the server listens (the cluster port a moment later): read it until complete, bounded.
    for (;;) {
      if (failed !== undefined || child.exitCode !== null || child.signalCode !== null) break;
      const ports = readPorts(dir);
      if (ports?.nats?.[0] !== undefined && ports.monitoring?.[0] !== undefined && (routes === undefined || ports.cluster?.[0] !== undefined)) {
        return new NatsServerProcess(child, dir, ports.nats[0], ports.monitoring[0], ports.cluster?.[0]);
      }
      if (Date.now() > deadline) break;
      await sleep(POLL_MS);
    }
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nats-server (${binary}) ${failed !== undefined ? `failed: ${failed.message}` : child.exitCode !== null ? `exited (${child.exitCode})` : `was not ready within ${READY_TIMEOUT_MS} ms`}`);
  }

  varz(): Promise<Record<string, unknown>> {
    return getJson(`${this.monitorUrl}/varz`);
  }

  /** `/connz` with every connection's subscriptions. */
  connz(): Promise<Record<string, unknown>> {
    return getJson(`${this.monitorUrl}/connz?subs=1&limit=4096`);
  }

  /** SIGKILL, resolved once it has exited. */
  async kill(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL');
    await this.exit;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readPorts(dir: string): PortsFile | undefined {
  const name = readdirSync(dir).find((file) => file.endsWith('.ports'));
  if (name === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as PortsFile;
  } catch {
    return undefined; // being written: read again
  }
}

/**
 * Three servers routed into one NATS cluster; resolves once each reports a
 * route to both others (polled on `/routez`, bounded: routes are gossiped, no
 * event tells).
 */
export async function startNatsCluster(binary: string, size = 3): Promise<NatsServerProcess[]> {
  const seed = await NatsServerProcess.start(binary, []);
  const servers = [seed];
  try {
    for (let i = 1; i < size; i++) servers.push(await NatsServerProcess.start(binary, [seed.clusterUrl as string]));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const counts = await Promise.all(servers.map(async (server) => Number((await getJson(`${server.monitorUrl}/routez`)).num_routes ?? 0)));
      if (counts.every((count) => count === size - 1)) return servers;
      if (Date.now() > deadline) throw new Error(`NATS cluster not meshed within ${READY_TIMEOUT_MS} ms (routes ${counts.join(', ')})`);
      await sleep(50);
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
}

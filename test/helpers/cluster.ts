/**
 * Starts real clusters on port 0 for integration tests and closes everything
 * they opened: servers, sockets. Waits on events; only `eventually` polls, for
 * state that is reported asynchronously and fires no event here.
 */
import * as path from 'node:path';
import WebSocket from 'ws';
import { createServer, type SwitchyardServer } from '../../src/master/server';
import type { SwitchyardOptions } from '../../src/options';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

const servers = new Set<SwitchyardServer>();
const sockets = new Set<WebSocket>();

/** `beforeListen` sees the server before it starts (to listen for `ready`, which fires before `listen()` resolves). */
export async function startCluster(options: SwitchyardOptions = {}, beforeListen?: (server: SwitchyardServer) => void): Promise<{ server: SwitchyardServer; port: number }> {
  // No /metrics cache unless a test asks for one: tests read counters before and after traffic within milliseconds.
  // Round-robin, not the default 'auto': node:cluster fixes its scheduling once per process (this jest worker, for every
  // file it runs), and tests that put clients on given workers rely on the master's rotation. The default is tested
  // through the CLI in processes of their own (kernel-fair.test.ts, reuse-port.test.ts).
  const server = createServer({ port: 0, host: '127.0.0.1', workers: 2, logLevel: 'silent', metricsCacheMs: 0, balancing: 'round-robin', ...options });
  servers.add(server);
  beforeListen?.(server);
  const port = await server.listen();
  return { server, port };
}

/** A `ws` client that records what it receives, in order. */
export class TestClient {
  readonly messages: Array<string | Buffer> = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<number>;

  constructor(readonly socket: WebSocket) {
    sockets.add(socket);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      this.messages.push(isBinary ? data : data.toString());
      this.notify();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.on('close', (code: number, reason: Buffer) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        sockets.delete(socket);
        this.notify();
        resolve(code);
      });
    });
  }

  /** Resolves once `count` messages in all have arrived. */
  async received(count: number, timeoutMs = 10000): Promise<Array<string | Buffer>> {
    await this.until(() => this.messages.length >= count, timeoutMs, `${count} messages (have ${this.messages.length})`);
    return this.messages.slice(0, count);
  }

  /** Resolves with the first JSON message (from the start) that matches. */
  async json<T = Record<string, unknown>>(match: (value: Record<string, unknown>) => boolean, timeoutMs = 10000): Promise<T> {
    let found: T | undefined;
    await this.until(() => {
      for (const message of this.messages) {
        if (typeof message !== 'string') continue;
        const value = JSON.parse(message) as Record<string, unknown>;
        if (match(value)) {
          found = value as T;
          return true;
        }
      }
      return false;
    }, timeoutMs, 'a matching JSON message');
    return found as T;
  }

  sendJson(value: unknown): void {
    this.socket.send(JSON.stringify(value));
  }

  private until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export function connect(port: number, path: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, options);
    const client = new TestClient(socket);
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

/** Closes every client the tests opened and leaves the servers running (for a cluster shared by several tests). */
export function closeClients(): void {
  for (const socket of sockets) socket.terminate();
  sockets.clear();
}

/** Closes every client and server the tests opened; call from afterEach. */
export async function closeAll(): Promise<void> {
  closeClients();
  await Promise.all([...servers].map((server) => server.close()));
  servers.clear();
}

/**
 * Waits until `condition` holds, polling: for state reported asynchronously
 * (the workers' status reports behind `server.stats()`).
 */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

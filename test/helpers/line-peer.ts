/**
 * The far end of a data-plane link, for unit tests over real Unix sockets in a
 * temp folder: a `LinePeer` reads newline-delimited JSON with its own splitter
 * (independent of `readLines`, which is under test) and writes raw lines; a
 * `LineServer` accepts connections and keeps one peer per connection.
 * `SocketDir.close()` (call it from afterEach/afterAll) ends everything opened
 * through it and removes the folder.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { linkSecret } from '../../src/link-secret';

/** The link key of a service instance in unit tests (the master makes a random one per instance). */
export const TEST_LINK_KEY = 'test-link-key-'.padEnd(43, 'k');

/** The hello worker `worker` sends to an instance whose key is `key`, with the secret the master would have given it. */
export function helloFor(worker: number, key: string = TEST_LINK_KEY): { type: 'hello'; worker: number; secret: string } {
  return { type: 'hello', worker, secret: linkSecret(key, worker) };
}

/** Wakes `until()` calls whenever something they may wait for has happened. */
export class Waiter {
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `predicate` holds; rejects after `ms` with `describe()` in the message. */
  until(predicate: () => boolean, describe: () => string, ms = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting: ${describe()}`));
      }, ms);
      this.listeners.add(check);
    });
  }

  /**
   * For asserting that something does not happen: resolves after `ms` if
   * `observe()` still gives what it gave at the start, and rejects as soon as
   * a notify() finds it changed (a failure does not wait out `ms`).
   */
  nothingWithin(ms: number, observe: () => unknown, describe: () => string): Promise<void> {
    const before = JSON.stringify(observe());
    const changed = (): boolean => JSON.stringify(observe()) !== before;
    return new Promise((resolve, reject) => {
      const fail = (): void => reject(new Error(`expected nothing more within ${ms} ms: ${describe()}`));
      const check = (): void => {
        if (!changed()) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        fail();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        // Also what changed without a notify (a promise settled, a counter moved).
        if (changed()) fail();
        else resolve();
      }, ms);
      this.listeners.add(check);
    });
  }
}

const NONE: ReadonlySet<unknown> = new Set();

export class LinePeer {
  /** Every parsed line, in arrival order. */
  readonly lines: unknown[] = [];
  /** Lines that were not JSON. */
  readonly unparsable: string[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  /** The peer half-closed (its `end()` arrived). */
  ended = false;
  private partial = '';
  private readonly waiter = new Waiter();

  /** `skip`: message types `messages` leaves out (a test that checks other messages' order). */
  constructor(
    readonly socket: net.Socket,
    private readonly skip: ReadonlySet<unknown> = NONE,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      for (const part of parts) {
        if (part.length === 0) continue;
        try {
          this.lines.push(JSON.parse(part));
        } catch {
          this.unparsable.push(part);
        }
      }
      this.waiter.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiter.notify();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
        this.waiter.notify();
      }),
    );
  }

  /** Every message of every batch line, in order. */
  get messages(): Array<Record<string, unknown>> {
    const all = this.lines.flatMap((line) => (Array.isArray(line) ? line : [line])) as Array<Record<string, unknown>>;
    return this.skip.size === 0 ? all : all.filter((message) => !this.skip.has(message.type));
  }

  /** Resolves once at least `count` messages have arrived. */
  untilMessages(count: number, ms?: number): Promise<void> {
    return this.until(() => this.messages.length >= count, ms);
  }

  until(predicate: () => boolean, ms?: number): Promise<void> {
    return this.waiter.until(predicate, () => `peer got ${JSON.stringify(this.lines)}, closed: ${this.isClosed}`, ms);
  }

  /** Resolves after `ms` if no further line arrived; rejects at once when one does. */
  expectNothingWithin(ms: number): Promise<void> {
    return this.waiter.nothingWithin(ms, () => [this.lines.length, this.unparsable.length], () => `peer got ${JSON.stringify(this.lines)}`);
  }

  /** Writes one batch line. */
  send(batch: unknown): void {
    this.socket.write(`${JSON.stringify(batch)}\n`);
  }

  writeRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

/** A Unix-socket server keeping one `LinePeer` per accepted connection. */
export class LineServer {
  readonly peers: LinePeer[] = [];
  private readonly waiter = new Waiter();

  private constructor(
    readonly path: string,
    private readonly server: net.Server,
    skip: ReadonlySet<unknown>,
  ) {
    server.on('connection', (socket) => {
      this.peers.push(new LinePeer(socket, skip));
      this.waiter.notify();
    });
  }

  /** `skip`: message types its peers' `messages` leave out. */
  static listen(socketPath: string, skip: ReadonlySet<unknown> = NONE): Promise<LineServer> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve(new LineServer(socketPath, server, skip));
      });
    });
  }

  /** Resolves with the `index`th connection (0-based) once it has been accepted. */
  async peer(index: number, ms?: number): Promise<LinePeer> {
    await this.waiter.until(() => this.peers.length > index, () => `connection ${index} (have ${this.peers.length})`, ms);
    return this.peers[index] as LinePeer;
  }

  /** Resolves after `ms` if no further connection was accepted; rejects at once when one is. */
  expectNoConnectionWithin(ms: number): Promise<void> {
    return this.waiter.nothingWithin(ms, () => this.peers.length, () => `${this.peers.length} connections`);
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
    await Promise.all(this.peers.map((peer) => peer.destroy()));
    await closed;
  }
}

/** A temp folder for socket files; tracks what is opened through it so that one call ends it all. */
export class SocketDir {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-link-'));
  private readonly skip: ReadonlySet<unknown>;

  /** `skipTypes`: message types that the peers of its servers leave out of `messages`. */
  constructor(skipTypes: readonly string[] = []) {
    this.skip = new Set(skipTypes);
  }

  private count = 0;
  private readonly servers: LineServer[] = [];
  private readonly sockets = new Set<net.Socket>();

  /** A fresh socket path in the folder. */
  path(name = 'link'): string {
    this.count++;
    return path.join(this.dir, `${name}-${this.count}.sock`);
  }

  async server(name?: string): Promise<LineServer> {
    const server = await LineServer.listen(this.path(name), this.skip);
    this.servers.push(server);
    return server;
  }

  /** Connects to `socketPath`; resolves once connected. */
  connect(socketPath: string): Promise<net.Socket> {
    const socket = net.connect(socketPath);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
    });
  }

  async close(): Promise<void> {
    const closing = [...this.sockets].map((socket) => new Promise<void>((resolve) => {
      if (socket.destroyed && socket.closed) return resolve();
      socket.once('close', () => resolve());
      socket.destroy();
    }));
    await Promise.all([...closing, ...this.servers.map((server) => server.close())]);
    this.servers.length = 0;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Polls `predicate` every 5 ms. This one does sleep: it is only for state
 * that no event or hook reports (a link's hello read by the service, a failed
 * connection attempt); everything else waits on events through a `Waiter`,
 * and what must not happen is checked with `nothingWithin`.
 */
export async function poll(predicate: () => boolean, ms = 5000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > ms) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

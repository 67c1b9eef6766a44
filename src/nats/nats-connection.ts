/**
 * One process's connection to NATS: the only module that loads the NATS
 * client (`@nats-io/transport-node`), and only when `connectNats()` is called,
 * so a server without NATS configured never loads it. It connects to any of
 * the given servers, reconnects for good (to whichever server of the NATS
 * cluster answers, learning the others from the servers' gossip), reads the
 * server's `max_payload` (again after each reconnect: another server may have
 * another limit), and reports its state changes as typed events.
 *
 * Core NATS only (publish, subscribe): nothing here needs JetStream or a
 * 2.10+ server.
 */
import { EventEmitter } from 'node:events';
// Types only (erased at build): transport-node re-exports them through a package `exports` subpath that
// this project's `moduleResolution: node` does not follow, and nats-core's own `types` field is misspelt.
import type { ConnectionOptions, NatsConnection, Status, Subscription } from '@nats-io/nats-core/lib/mod';
import { SwitchyardError } from '../errors';

/** How to reach NATS; user/password, token and TLS are passed to the client as is. */
export interface NatsSettings {
  /** `nats://host:port` URLs (or `host:port`); at least one. */
  readonly servers: readonly string[];
  /** Shown by the server's monitoring pages for this connection. */
  readonly name?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** TLS to the server: PEM file paths (all optional; an empty object requires TLS with the system's CAs). */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Wait between reconnect attempts to one server, in ms. Default `250` (the client's own default, 2 s, is most of a node's liveness timeout). */
  readonly reconnectTimeWait?: number;
  /**
   * Client pings every this many ms; 2 unanswered ones mean the server is
   * gone (a stopped server keeps its socket open). Default `300`: leaving a
   * server that stopped answering then takes about 1.9 s (measured), under a
   * node's 3 s liveness timeout; at the client's default (2 min) it took
   * minutes, at 2 s with a 5 s connect timeout, 11 s.
   */
  readonly pingInterval?: number;
  /**
   * How long one connect or reconnect attempt may take, in ms; it also bounds
   * how long the client takes to give up a server that stopped answering.
   * Default `1000`.
   */
  readonly timeout?: number;
}

export const DEFAULT_NATS_RECONNECT_TIME_WAIT = 250;
export const DEFAULT_NATS_PING_INTERVAL = 300;
export const DEFAULT_NATS_CONNECT_TIMEOUT = 1000;
/** What a NATS server allows by default (1 MiB), used until the server said otherwise. */
export const DEFAULT_NATS_MAX_PAYLOAD = 1024 * 1024;

/** State changes of the connection. */
export interface NatsConnectionEvents {
  /** The connection to `server` was lost; the client is reconnecting. */
  disconnect: [server: string];
  /** Connected again, to `server` (maybe another one). */
  reconnect: [server: string];
  /** The connection is closed for good (by `close()`, or the client gave up). */
  close: [];
}

/** A message handler: the subject it arrived on and its bytes (a view; copy to keep). */
export type NatsHandler = (subject: string, data: Uint8Array) => void;

interface NatsModule {
  connect(options: ConnectionOptions): Promise<NatsConnection>;
}

/** Loads the client on first use; a clear error when the optional dependency is not installed. */
function loadClient(): NatsModule {
  try {
    // Lazily, and only here: a server without NATS never loads it.
    return require('@nats-io/transport-node') as NatsModule;
  } catch (error) {
    throw new SwitchyardError('SY_ERR_NATS_UNAVAILABLE', 'NATS is configured but @nats-io/transport-node cannot be loaded (npm install @nats-io/transport-node)', { cause: error });
  }
}

/** Connects to NATS; rejects with `SY_ERR_NATS_UNAVAILABLE` when the client is missing or no server answered. */
export async function connectNats(settings: NatsSettings): Promise<NatsLink> {
  if (settings.servers.length === 0) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'connectNats needs at least one server');
  const client = loadClient();
  const options: ConnectionOptions = {
    servers: [...settings.servers],
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: settings.reconnectTimeWait ?? DEFAULT_NATS_RECONNECT_TIME_WAIT,
    reconnectJitter: 100,
    pingInterval: settings.pingInterval ?? DEFAULT_NATS_PING_INTERVAL,
    maxPingOut: 2,
    timeout: settings.timeout ?? DEFAULT_NATS_CONNECT_TIMEOUT,
    // A node never subscribes to what it publishes itself; the server need not send it back.
    noEcho: true,
    ...(settings.name !== undefined ? { name: settings.name } : {}),
    ...(settings.user !== undefined ? { user: settings.user } : {}),
    ...(settings.pass !== undefined ? { pass: settings.pass } : {}),
    ...(settings.token !== undefined ? { token: settings.token } : {}),
    ...(settings.tls !== undefined ? { tls: { ...settings.tls } } : {}),
  };
  let connection: NatsConnection;
  try {
    connection = await client.connect(options);
  } catch (error) {
    throw new SwitchyardError('SY_ERR_NATS_UNAVAILABLE', `no NATS server answered (${settings.servers.join(', ')}): ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return new NatsLink(connection);
}

/** A live NATS connection: publish, subscribe, its server's limit, its state. */
export class NatsLink extends EventEmitter<NatsConnectionEvents> {
  private closed = false;
  private up = true;
  private readonly subscriptions = new Set<Subscription>();
  /** Times the connection was lost and regained. */
  reconnects = 0;
  private readonly done: Promise<void>;

  constructor(private readonly connection: NatsConnection) {
    super();
    this.done = this.watchStatus();
  }

  /** The server's `max_payload` in bytes (the current server's: it may change on reconnect). */
  maxPayload(): number {
    return this.connection.info?.max_payload ?? DEFAULT_NATS_MAX_PAYLOAD;
  }

  /** False from a `disconnect` until the `reconnect` (publishes meanwhile wait in the client's buffer). */
  connected(): boolean {
    return this.up && !this.closed;
  }

  /** The URL of the server this connection is on now. */
  server(): string {
    return this.connection.getServer();
  }

  /**
   * Publishes `data` on `subject`: at most once, buffered by the client while
   * it reconnects. Throws `SY_ERR_NATS_FRAME_TOO_LARGE` past `max_payload`.
   */
  publish(subject: string, data: Uint8Array): void {
    const limit = this.maxPayload();
    if (data.byteLength > limit) {
      throw new SwitchyardError('SY_ERR_NATS_FRAME_TOO_LARGE', `a message of ${data.byteLength} bytes on ${subject} is over the NATS server's max_payload (${limit} bytes)`);
    }
    this.connection.publish(subject, data);
  }

  /** Calls `handler` for every message on `subject` (wildcards allowed); the returned function unsubscribes. */
  subscribe(subject: string, handler: NatsHandler): () => void {
    const subscription = this.connection.subscribe(subject, {
      callback: (error, message) => {
        // A subscription error (permissions) ends it; the owner hears nothing more on it.
        if (error === null) handler(message.subject, message.data);
      },
    });
    this.subscriptions.add(subscription);
    return () => {
      this.subscriptions.delete(subscription);
      subscription.unsubscribe();
    };
  }

  /** Resolves once everything published so far has reached the server (a round trip). */
  flush(): Promise<void> {
    return this.connection.flush();
  }

  /** Closes the connection (what is still buffered is sent first); resolves once closed. */
  async close(): Promise<void> {
    if (this.closed) return this.done;
    this.closed = true;
    this.subscriptions.clear();
    await this.connection.drain().catch(() => this.connection.close());
    await this.done;
  }

  private async watchStatus(): Promise<void> {
    const statuses: AsyncIterable<Status> = this.connection.status();
    const closed = this.connection.closed();
    // The status stream ends when the connection closes; an error ending it early must not become an unhandled rejection.
    void (async () => {
      for await (const status of statuses) this.onStatus(status);
    })().catch(() => undefined);
    // closed() resolves (with the error, if any) once the connection is closed for good.
    await closed.catch(() => undefined);
    this.closed = true;
    this.emit('close');
  }

  private onStatus(status: Status): void {
    switch (status.type) {
      case 'disconnect':
        this.up = false;
        this.emit('disconnect', status.server);
        return;
      case 'reconnect':
        this.up = true;
        this.reconnects++;
        this.emit('reconnect', status.server);
        return;
      case 'reconnecting':
      case 'update':
      case 'ldm':
      case 'error':
      case 'ping':
      case 'staleConnection':
      case 'slowConsumer':
      case 'forceReconnect':
      case 'close':
        return;
      default: {
        const unknownStatus: never = status;
        void unknownStatus;
      }
    }
  }
}

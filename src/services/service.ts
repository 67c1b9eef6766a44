/**
 * The base class application authors extend. A service runs in a process of
 * its own; Switchyard calls its handlers and carries out its actions.
 *
 * ```ts
 * import { Service, type Client } from 'switchyard';
 * export default class Echo extends Service {
 *   onMessage(client: Client, data: string | Buffer) { this.send(client.id, data); }
 * }
 * ```
 *
 * Backpressure: a worker's link queue is bounded (`ipcMaxQueuedMessages`,
 * `ipcMaxQueuedBytes`). A message it refuses is dropped and every client that
 * missed it is closed with 1013 "service backlog full" (never a silent gap);
 * `send` then returns false, and `broadcast`/`publish` count only the
 * clients it still goes to. A service that sends in bulk awaits `drained()`
 * between messages (or batches) and loses nothing. docs/failure-semantics.md
 * has the whole policy.
 */
import type { Logger } from '../logger';
import type { Payload } from '../protocol';
import { MAX_MESSAGE_LENGTH, encodePayload } from '../protocol';
import { SwitchyardError, isSendableCloseCode, isSendableCloseReason } from '../errors';
import { SubscriptionIndex } from '../subscription-index';
import { UserIndex } from './user-index';
import type { Client } from './client';
import { RequestError, type ServiceRequest } from './request';
import type { StandardSchemaV1 } from './standard-schema';

/** How a client message reached this service instance. */
export interface MessageInfo {
  /** The message's number on the link from the client's worker (increasing per worker, so per client too). */
  readonly seq: number;
  /**
   * True when a previous instance of this service received this message but
   * died before its handler finished: it may have been handled already
   * (delivery is at-least-once; duplicates are only ever marked ones).
   */
  readonly redelivered: boolean;
}

/** What a service may send: text, bytes, or any other value (sent as JSON text). */
export type OutgoingData = string | Buffer | Uint8Array | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown };

export interface BroadcastOptions {
  /** Client ids that do not receive this message. */
  readonly except?: string | readonly string[];
}

/** Topics are names of 1 to 256 characters, private to each service. */
export const MAX_TOPIC_LENGTH = 256;

/** How a service's actions leave the process; provided by the service host. */
export interface ServiceTransport {
  /** False when the client's link refused it (its queue is full) or the client is being closed for that. */
  send(id: string, payload: Payload): boolean;
  /** Returns how many clients missed it: those on workers whose link refused it. */
  broadcast(payload: Payload, except: readonly string[] | undefined): number;
  close(id: string, code: number, reason: string): void;
  subscribe(id: string, topic: string): void;
  unsubscribe(id: string, topic: string): void;
  /** Returns how many subscribers missed it: those on workers whose link refused it. */
  publish(topic: string, payload: Payload, except: readonly string[] | undefined): number;
  /** Whether a worker reported a subscriber of `topic` that another instance subscribed (always false with one instance). */
  subscribedElsewhere(topic: string): boolean;
  /** Resolves once every link's queue has been written out (or its link closed). */
  drained(): Promise<void>;
  /** To one peer instance; false when there is no such peer, or its queue is full. */
  peerSend(instance: number, payload: Payload): boolean;
  /** To every peer instance; returns how many it went to (or waits for). */
  peerBroadcast(payload: Payload): number;
  /** The subscribers of `topic` of every instance. */
  clusterSubscribers(topic: string): Promise<number>;
}

/**
 * The other instances of this service (docs/instances.md): messages between
 * instances, directly over Unix sockets, in order per sender, to every peer
 * that is up (and, bounded, to one that is down, for its next process).
 */
export interface ServicePeers {
  /** Sends `data` to peer `instance`'s `onPeerMessage`. False when there is no such peer (or it is this one), or its queue is full. */
  send(instance: number, data: OutgoingData): boolean;
  /** Sends `data` to every other instance's `onPeerMessage`; returns how many it went to. 0 for a service of one instance. */
  broadcast(data: OutgoingData): number;
}

/** Which instance of its service a process runs. */
export interface InstancePlacement {
  readonly instance: number;
  readonly instances: number;
}

/** The state a service host shares with the service it runs. */
export interface ServiceInternals {
  readonly clients: Map<string, Client>;
  readonly topics: SubscriptionIndex;
  /** Connected clients by authenticated user. */
  readonly users: UserIndex;
}

function exceptList(except: BroadcastOptions['except']): string[] | undefined {
  if (except === undefined) return undefined;
  const list = typeof except === 'string' ? [except] : [...except];
  if (!list.every((id) => typeof id === 'string')) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'options.except must be a client id or an array of them');
  }
  return list;
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `a topic must be a string of 1 to ${MAX_TOPIC_LENGTH} characters`);
  }
}

function checkClose(code: number, reason: string): void {
  if (!isSendableCloseCode(code)) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `close code ${String(code)} cannot be sent: use 1000 or 3000-4999`);
  }
  if (!isSendableCloseReason(reason)) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'close reason must be a string of at most 123 bytes');
  }
}

/** Marks service classes across copies of this package (duck-typing `instanceof`). */
export const SERVICE_BRAND: unique symbol = Symbol.for('switchyard.service') as never;

export function toPayload(data: OutgoingData): Payload {
  return withinLimit(encode(data));
}

function encode(data: OutgoingData): Payload {
  if (typeof data === 'string') return { data };
  if (Buffer.isBuffer(data)) return encodePayload(data);
  if (data instanceof Uint8Array) return encodePayload(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const text = JSON.stringify(data);
  if (text === undefined) throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', 'data cannot be serialized as JSON');
  return { data: text };
}

/** A message past the limit would not fit a link line: a clear error for the caller, rather than a cut link. */
function withinLimit(payload: Payload): Payload {
  if (payload.data.length > MAX_MESSAGE_LENGTH) {
    throw new SwitchyardError('SY_ERR_INVALID_ARGUMENT', `a message may be at most ${MAX_MESSAGE_LENGTH} characters (text) or bytes (binary); got ${payload.data.length}`);
  }
  return payload;
}

/**
 * `In` is what `onMessage` receives, `Out` what `send`, `broadcast`,
 * `publish` and `sendToUser` accept. Untyped (no type arguments), messages
 * arrive as they came, text as a string and binary as a Buffer, and any
 * `OutgoingData` can be sent. Typed (`Service<ClientMessage, ServerMessage>`),
 * the service also sets `messageFormat = 'json'` or a `messageSchema`, which
 * is how the runtime knows to parse: see docs/typed-messages.md.
 */
export abstract class Service<In = string | Buffer, Out = OutgoingData> {
  static readonly [SERVICE_BRAND] = true;

  /**
   * `'json'`: each client message is parsed as JSON before `onMessage` gets
   * it; one that is not JSON text gets the `SY_ERR_INVALID_MESSAGE` error
   * reply instead and is counted (`switchyard_invalid_messages_total`).
   * Unset (the default): text arrives as a string, binary as a Buffer.
   * Setting `messageSchema` implies `'json'`. Declared, not defined, so an
   * untyped service's instances are unchanged.
   */
  declare readonly messageFormat?: 'json';

  /**
   * A Standard Schema (zod, valibot, ArkType…) each parsed message must pass
   * before `onMessage` gets the schema's output; a message it rejects gets
   * the `SY_ERR_INVALID_MESSAGE` error reply with the schema's issues, is
   * counted, and never reaches the handler. Default: none (with
   * `messageFormat = 'json'`, parsed messages are not checked).
   */
  declare readonly messageSchema?: StandardSchemaV1<unknown, In>;

  #name = '';
  #instance = 0;
  #instances = 1;
  #transport: ServiceTransport | undefined;
  #peers: ServicePeers | undefined;
  #log: Logger | undefined;
  readonly #clients = new Map<string, Client>();
  readonly #topics = new SubscriptionIndex();
  readonly #users = new UserIndex();

  /** The name this service is configured under (its URL path). */
  get name(): string {
    return this.#name;
  }

  /**
   * This process's instance index, 0 to `instances` − 1 (see
   * docs/instances.md). Always 0 for a service configured in the string form.
   */
  get instance(): number {
    return this.#instance;
  }

  /** How many instances the service runs (`services.<name>.instances`). Default `1`. */
  get instances(): number {
    return this.#instances;
  }

  /**
   * This service's logger (pino): its lines are the process's JSON lines
   * (`role`, `pid`, `service`, and `instance` for a service of several), and
   * a line written by a handler before its first `await` also carries the
   * client's id as `client` (after an await, pass it: `{ client: client.id }`;
   * see docs/logging.md). Available from `onStart` on.
   */
  get log(): Logger {
    if (this.#log === undefined) {
      throw new SwitchyardError('SY_ERR_SERVICE_NOT_ATTACHED', 'this.log works only inside a running service (after onStart begins)');
    }
    return this.#log;
  }

  /** The other instances of this service: see `ServicePeers` and `onPeerMessage`. */
  get peers(): ServicePeers {
    if (this.#peers === undefined) {
      const transport = this.#attached();
      this.#peers = {
        send: (instance: number, data: OutgoingData) => transport.peerSend(instance, toPayload(data)),
        broadcast: (data: OutgoingData) => transport.peerBroadcast(toPayload(data)),
      };
    }
    return this.#peers;
  }

  /** This instance's clients connected right now, by id (with several instances, only those it owns). */
  get clients(): ReadonlyMap<string, Client> {
    return this.#clients;
  }

  /** Called once before any client is routed here. Startup fails if it throws. */
  onStart(): void | Promise<void> {}

  /** A client connected. Its later events wait until this handler settles. */
  onConnect(_client: Client): void | Promise<void> {}

  /**
   * A client sent a message: text frames arrive as strings, binary as Buffers
   * (a typed service: the parsed, validated message). The client's worker keeps the message until this handler has settled, so
   * that a crash of this process redelivers it (marked in `info`) to the next one.
   */
  onMessage(_client: Client, _data: In, _info: MessageInfo): void | Promise<void> {}

  /** A client is gone. `code` is the close code the client sent, or 1006 when the connection dropped. */
  onClose(_client: Client, _code: number, _reason: string): void | Promise<void> {}

  /**
   * A message from peer instance `from` (`this.peers.send` or `broadcast`
   * there): text arrives as a string, binary as a Buffer. Called in the order
   * that peer sent them; not awaited (a peer message holds no client's order);
   * a handler that throws or rejects is logged and counted.
   */
  onPeerMessage(_from: number, _data: string | Buffer): void | Promise<void> {}

  /**
   * Peer instance `instance` can be reached: its process came up, at the
   * start or after a restart or reload, with none of its predecessor's state.
   * Send it what it needs to know (the chat sends its room counts).
   */
  onPeerUp(_instance: number): void | Promise<void> {}

  /** Called once when the server stops, after every client's `onClose`. */
  onStop(): void | Promise<void> {}

  /**
   * Answers a request, over HTTP (`/services/<name>`) or over WebSocket (the
   * request envelope). The return value is the reply: a string (text/plain),
   * a Buffer (application/octet-stream), `undefined` (204), `reply(status,
   * body, headers)`, or anything else (JSON). Throw a `RequestError` for an
   * error reply. The default answers 501.
   */
  onRequest(_request: ServiceRequest): unknown {
    throw new RequestError(501, 'SY_ERR_NOT_IMPLEMENTED', `service "${this.name}" does not answer requests`);
  }

  /**
   * Sends `data` to one client. Returns false, sending nothing, when that
   * client is not connected to this service (it may have just left), or when
   * the queue of its worker's link is full (`ipcMaxQueuedMessages` /
   * `ipcMaxQueuedBytes`): then the message is dropped and the client is
   * closed with 1013 "service backlog full", after the messages that did fit,
   * so it never misses one silently; from then until its `onClose`, `send`
   * to it returns false. Await `drained()` to send no faster than the links
   * carry. Throws `SY_ERR_INVALID_ARGUMENT` for a message over 64 Mi
   * characters (text) or bytes (binary), as `broadcast` and `publish` do. A
   * Buffer is written to the link as it is, later in this turn, not copied:
   * do not change it after sending it.
   */
  send(id: string, data: Out): boolean {
    const transport = this.#attached();
    if (!this.#clients.has(id)) return false;
    return transport.send(id, toPayload(data as OutgoingData));
  }

  /**
   * Sends `data` to every client of this service, once per worker over its
   * link; with several instances, every instance's clients too. Returns the
   * number of this instance's clients it goes to: those connected, less
   * `except`, less the clients of a worker whose link queue is full, which
   * miss it and are closed with 1013 "service backlog full" (as for `send`).
   */
  broadcast(data: Out, options: BroadcastOptions = {}): number {
    const transport = this.#attached();
    const except = exceptList(options.except);
    let recipients = this.#clients.size;
    if (except !== undefined) for (const id of new Set(except)) if (this.#clients.has(id)) recipients--;
    return Math.max(0, recipients - transport.broadcast(toPayload(data as OutgoingData), except));
  }

  /**
   * Resolves once every message sent so far (by `send`, `broadcast`,
   * `publish`) has been written to its worker's link, or that link has
   * closed: the queues are empty, so the next messages fit. A service that
   * sends in a loop awaits it after each message, or after each batch smaller
   * than the queue bound, and so never has a message dropped. It waits as
   * long as a worker is slow to read: a worker that stopped reading holds it.
   */
  drained(): Promise<void> {
    return this.#attached().drained();
  }

  /**
   * Subscribes a client to a topic of this service. Returns false when the
   * client is not connected or already subscribed. Subscriptions end when the
   * client closes.
   */
  subscribe(id: string, topic: string): boolean {
    const transport = this.#attached();
    checkTopic(topic);
    if (!this.#clients.has(id) || !this.#topics.add(id, topic)) return false;
    transport.subscribe(id, topic);
    return true;
  }

  /** Ends a client's subscription; false when it had none. */
  unsubscribe(id: string, topic: string): boolean {
    const transport = this.#attached();
    checkTopic(topic);
    if (!this.#topics.remove(id, topic)) return false;
    transport.unsubscribe(id, topic);
    return true;
  }

  /**
   * Sends `data` to every subscriber of `topic`: once to each worker that
   * holds a subscriber, which fans it out. A topic without subscribers costs
   * no IPC at all. With several instances it reaches the subscribers every
   * instance subscribed (each worker tells every instance which topics have a
   * subscriber on it), but the count returned is of this instance's own
   * subscribers. Returns the number of subscribers it goes to: less
   * `except`, and less the subscribers on a worker whose link queue is full,
   * which miss it and are closed with 1013 "service backlog full" (as for
   * `send`; await `drained()` to avoid it).
   */
  publish(topic: string, data: Out, options: BroadcastOptions = {}): number {
    const transport = this.#attached();
    checkTopic(topic);
    const except = exceptList(options.except);
    let recipients = this.#topics.count(topic);
    if (except !== undefined) for (const id of new Set(except)) if (this.#topics.subscribers(topic).has(id)) recipients--;
    // No subscriber anywhere: no IPC at all. With several instances, another one's subscribers count too.
    if (recipients === 0 && !transport.subscribedElsewhere(topic)) return 0;
    return Math.max(0, recipients - transport.publish(topic, toPayload(data as OutgoingData), except));
  }

  /**
   * Subscribers of `topic` this instance subscribed. Exact and synchronous:
   * with one instance that is the whole cluster (only the service subscribes
   * its clients to its topics); with several, only this instance's own
   * clients (see docs/instances.md for the cluster-wide count).
   */
  subscribers(topic: string): number {
    return this.#topics.count(topic);
  }

  /**
   * Subscribers of `topic` across every instance of the service: this
   * instance's exact count plus each peer's, asked over the peer connections.
   * Each peer's count is exact when it answers, so the sum is at most one
   * peer round trip old; a peer that is down counts 0 (a restarted instance
   * starts without subscriptions). With one instance it is `subscribers(topic)`.
   */
  clusterSubscribers(topic: string): Promise<number> {
    const transport = this.#attached();
    checkTopic(topic);
    return transport.clusterSubscribers(topic);
  }

  /** Topics a client is subscribed to. */
  topicsOf(id: string): ReadonlySet<string> {
    return this.#topics.topicsOf(id);
  }

  /**
   * Sends `data` to every connection of an authenticated `user` (`client.user`;
   * options `authenticate` or `jwt`). Returns how many connections it went
   * to (as `send`: one whose link queue is full is not counted, and is closed
   * with 1013); 0 when the user has none here.
   */
  sendToUser(user: string, data: Out): number {
    const transport = this.#attached();
    const ids = this.#users.clientsOf(user);
    if (ids.size === 0) return 0;
    const payload = toPayload(data as OutgoingData);
    let sent = 0;
    // A copy: a send that closes a client (a full queue) must not change the set being walked.
    for (const id of [...ids]) if (transport.send(id, payload)) sent++;
    return sent;
  }

  /** Closes every connection of `user` (as `close`, same arguments and checks); returns how many. */
  closeUser(user: string, code = 1000, reason = ''): number {
    this.#attached();
    checkClose(code, reason);
    let closed = 0;
    for (const id of [...this.#users.clientsOf(user)]) if (this.close(id, code, reason)) closed++;
    return closed;
  }

  /** Ids of the connected clients of an authenticated `user`. */
  connectionsOf(user: string): ReadonlySet<string> {
    return this.#users.clientsOf(user);
  }

  /** Closes a client's connection. `code` is 1000 by default; 3000–4999 are yours. */
  close(id: string, code = 1000, reason = ''): boolean {
    const transport = this.#attached();
    checkClose(code, reason);
    if (!this.#clients.has(id)) return false;
    transport.close(id, code, reason);
    return true;
  }

  #attached(): ServiceTransport {
    if (this.#transport === undefined) {
      throw new SwitchyardError('SY_ERR_SERVICE_NOT_ATTACHED', 'service actions work only inside a running service (after onStart begins)');
    }
    return this.#transport;
  }

  /** @internal Used by the service host; not part of the public API. */
  static attach(service: Service<unknown, unknown>, name: string, transport: ServiceTransport, placement: InstancePlacement = { instance: 0, instances: 1 }, log?: Logger): ServiceInternals {
    service.#name = name;
    service.#log = log;
    service.#instance = placement.instance;
    service.#instances = placement.instances;
    service.#transport = transport;
    return { clients: service.#clients, topics: service.#topics, users: service.#users };
  }
}

/** Whether `value` is a class extending `Service` (from any copy of this package). */
export function isServiceClass(value: unknown): value is new () => Service<unknown, unknown> {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[SERVICE_BRAND] === true;
}

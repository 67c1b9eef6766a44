/**
 * The one protocol spoken between Switchyard processes, one union per
 * direction. Two planes: the control plane (master ↔ worker, master ↔
 * service) over node's IPC channel, and the data plane (worker ↔ service)
 * over one Unix-socket link per worker and service, so client traffic never
 * passes through the master. Every write on either is a batch: a JSON array of
 * messages (on links, one array per line). What arrives is `unknown` until the
 * matching guard has accepted it.
 *
 * Payloads: a text frame travels as the string it is (never parsed by a worker
 * or the master), or — big text, decoded from a link — as its UTF-8 bytes; a
 * binary frame travels as its bytes with `binary: true`. On a link, bytes
 * travel raw beside the JSON line (`ipc/link-codec.ts`), never as base64.
 */
import { decodeText } from './ipc/link-codec';

/** What a service learns about a client when it connects. */
export interface ClientInfo {
  /** Cluster-unique id; see `client-id.ts`. */
  readonly id: string;
  /** Name of the service the client is routed to. */
  readonly service: string;
  /** Request path, without the query string. */
  readonly path: string;
  /** Query string parameters (the last value wins for repeated keys). */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers selected by `options.forwardHeaders`, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  /** The authenticated user (options `authenticate` or `jwt`); absent without an authenticator. */
  readonly user?: string;
  /** The identity's claims (a JWT's payload), at most `maxClaimsBytes` as JSON; absent when the authenticator gave none. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** One empty record shared by every client without query parameters or forwarded headers: an object per idle connection saved. */
const NO_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

/** `record`, or the shared empty one when it has no key. */
export function sharedIfEmpty(record: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  for (const _key in record) return record;
  return NO_FIELDS;
}

/**
 * A payload as it crosses a process boundary: text as a string or as its
 * UTF-8 bytes (a worker passes text it read raw from a link to its clients
 * without decoding it), binary as a Buffer with `binary: true`.
 */
export interface Payload {
  readonly data: string | Buffer;
  /** Binary: `data` is then always a Buffer (the guard refuses a string). */
  readonly binary?: true;
}

/** An HTTP request for a service's `onRequest`; `rid` is `<worker>.<seq>` like a client id. */
export interface HttpRequestFields {
  readonly rid: string;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** The authenticated user and claims, with an authenticator configured (as in `ClientInfo`). */
  readonly user?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** A service's answer to an HTTP request. */
export interface HttpResponseFields {
  readonly rid: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** What a worker may ask the master about the whole cluster. */
export type ClusterQuery = 'health' | 'ready' | 'metrics';

/** Metrics of one process, as prom-client's `getMetricsAsJSON()` returns them. */
export type MetricsSnapshot = readonly unknown[];

/** Counters of what a worker refused or dropped on its service links, since it started. */
export interface RoutingCounters {
  /** Messages from a service that addressed a client not its own (or a malformed id): dropped. */
  readonly foreignAddressDrops: number;
  /** Messages from a service for a client that had already gone (a benign race): dropped. */
  readonly goneClientDrops: number;
  /** Client messages and connects refused because the link's unacknowledged bound was reached: the client got 1013. */
  readonly serviceQueueFull: number;
  /** Messages to a service dropped because the link's send queue was full. */
  readonly linkQueueFull: number;
  /** HTTP requests answered 503 because the service was down. */
  readonly requestsRefused: number;
}

/**
 * What a worker's link to a service knows of the service's liveness. Times
 * are epoch ms (`Date.now()`): the worker and the master share one clock.
 */
export interface LinkLiveness {
  /** Whether the link is connected to a running instance. */
  readonly up: boolean;
  /** When the link last came up, or stopped being up. */
  readonly since: number;
  /** While up with events unacknowledged: since when they have waited with no acknowledgement from the service. */
  readonly waitingSince?: number;
}

/** A worker's periodic report to the master, for `stats()` and `/healthz`. */
export interface WorkerStatus {
  /** Open clients per service. */
  readonly clients: Readonly<Record<string, number>>;
  /** Client events (connects, messages, closes) per service instance (keyed as `instanceKey` names it) not acknowledged yet: in flight, being handled, or held while the instance is down. */
  readonly held: Readonly<Record<string, number>>;
  readonly routing: RoutingCounters;
  /** Each link's liveness, per service instance (keyed as `instanceKey` names it; for `/readyz`). */
  readonly links: Readonly<Record<string, LinkLiveness>>;
}

// ---- worker → master (control plane, node IPC) ------------------------------

export type WorkerToMaster =
  | { readonly type: 'ready'; readonly port: number }
  | ({ readonly type: 'status' } & WorkerStatus)
  | { readonly type: 'query'; readonly qid: number; readonly what: ClusterQuery }
  | { readonly type: 'metrics'; readonly qid: number; readonly metrics: MetricsSnapshot }
  /**
   * The instance of `service` at `endpoint` died holding an event that had
   * now gone down with `deliveries` instances, and the worker quarantined it:
   * those crashes were the event's, not the service's (crash-loop rule).
   */
  | { readonly type: 'quarantined'; readonly service: string; readonly endpoint: string; readonly deliveries: number }
  /** The worker cannot start (its `authenticate` or `http` module does not load): sent just before it exits, so `listen()` can say why. */
  | { readonly type: 'startFailed'; readonly error: { readonly message: string; readonly code?: string } };

// ---- master → worker ---------------------------------------------------------

export type MasterToWorker =
  /**
   * A service instance runs and listens at `endpoint` (a Unix socket path):
   * links connect to it and present `secret` in their hello (this worker's
   * secret for this instance, see `link-secret.ts`).
   */
  | { readonly type: 'serviceUp'; readonly service: string; readonly instance: number; readonly endpoint: string; readonly secret: string }
  /** A service instance crash-looped: its clients are closed with 1011 and new ones it would own refused until it comes up again. */
  | { readonly type: 'serviceFailed'; readonly service: string; readonly instance: number }
  /** With `cluster`: an instance on another node is no longer seen (its node is dead, or its process went): events for it are held until it is announced again. */
  | { readonly type: 'serviceDown'; readonly service: string; readonly instance: number }
  /**
   * Stop (1001) or retire (1012): clients are closed with `code`; one with
   * events still unacknowledged is closed once they are and their replies
   * written, or after `holdMs` (`min(closeGrace, half the worker's stop
   * deadline)`; `0`: at once).
   */
  | { readonly type: 'stop'; readonly code: number; readonly reason: string; readonly holdMs: number }
  /**
   * A reload changed how many instances `service` runs: the worker keeps that
   * many links from now on and closes with 1012 each client whose shard key
   * now maps to another instance (the new instances' endpoints follow).
   */
  | { readonly type: 'serviceResized'; readonly service: string; readonly instances: number }
  | { readonly type: 'queryResult'; readonly qid: number; readonly status: number; readonly contentType: string; readonly body: string }
  | { readonly type: 'metricsRequest'; readonly qid: number }
  /**
   * The TLS certificate, key and CA (PEM text, checked by the master) this
   * worker serves: sent before it listens, and again at each reload, when the
   * new handshakes get them and established connections keep theirs.
   */
  | ({ readonly type: 'tls' } & TlsMaterial);

/** What a worker's TLS server is given: PEM text, read and checked by the master (master/tls-material.ts). */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
  readonly passphrase?: string;
}

// ---- service → master --------------------------------------------------------

export type ServiceToMaster =
  | { readonly type: 'started' }
  | { readonly type: 'startFailed'; readonly error: { readonly message: string; readonly code?: string; readonly stack?: string } }
  | { readonly type: 'stopped' }
  | { readonly type: 'metrics'; readonly qid: number; readonly metrics: MetricsSnapshot }
  /** The answer to a `ping`, from the service's event loop: a blocked or stopped loop sends none. */
  | { readonly type: 'pong' };

// ---- master → service --------------------------------------------------------

export type MasterToService =
  /**
   * `retire`: a reload replaces this instance while workers stay — it handles
   * nothing more from its links, finishes what runs, tells each link what it
   * never handled, and exits. `shutdown`: the workers are gone or going — it
   * reads its links to their end (every client's close), then stops.
   */
  | { readonly type: 'stop'; readonly mode: 'retire' | 'shutdown' }
  | { readonly type: 'metricsRequest'; readonly qid: number }
  /** Liveness probe, every quarter of `livenessTimeout`: answered with `pong`. */
  | { readonly type: 'ping' }
  /**
   * A service of several instances: peer `instance` runs (again) and takes
   * peer connections at `endpoint`, where this instance presents `secret`
   * (`peerSecret` of that peer's key). Sent to every running instance whenever
   * one comes online; the peers then talk directly, never through the master.
   */
  | { readonly type: 'peerUp'; readonly instance: number; readonly endpoint: string; readonly secret: string }
  | LinkControl;

/**
 * Which workers may link to a service instance (`link-admission.ts`): its key
 * and the live workers, sent first of all; then each worker forked, and each
 * that exited. Over IPC only, never in the environment.
 */
export type LinkControl =
  | { readonly type: 'linkKey'; readonly key: string; readonly workers: readonly number[] }
  | { readonly type: 'admitWorker'; readonly worker: number }
  | { readonly type: 'revokeWorker'; readonly worker: number }
  /**
   * With `cluster`: the workers (link ids) node `node` runs now, from its
   * heartbeats; a link from a worker of that node not in the list is gone,
   * its clients closed with 1006 and `reason` (`'node lost'` when the node
   * is dead: `workers` is then empty).
   */
  | { readonly type: 'remoteWorkers'; readonly node: string; readonly workers: readonly number[]; readonly reason: string };

// ---- worker → service (data plane, one Unix-socket link per worker and service) ----

export type WorkerToService =
  /**
   * First message on a link: which worker it comes from (client ids of that
   * worker start with it), and the secret the master gave it for this instance.
   * `resume`, on a link over a NATS channel only: `stream` names the worker's
   * connection to this instance (random, one per connection), and `received`,
   * on the hello of a later channel session, counts the instance's writes it
   * read whole, so that the instance resends the rest (`channel-endpoint.ts`)
   * or, when it cannot, answers `sessionLost`.
   */
  | { readonly type: 'hello'; readonly worker: number; readonly secret: string; readonly resume?: LinkResume }
  /**
   * A client connected (`seq`: acknowledged once `onConnect` settled), or —
   * `resumed`, without `seq` — a client an earlier instance knew, replayed to
   * a new one.
   */
  | { readonly type: 'connect'; readonly client: ClientInfo; readonly seq: number; readonly resumed?: undefined }
  | { readonly type: 'connect'; readonly client: ClientInfo; readonly resumed: true; readonly seq?: undefined }
  /**
   * `seq`: numbers the link's client events, for acknowledgement. `redelivered`:
   * a previous instance received it but died before acknowledging it. `ts`:
   * when the worker received it (epoch ms), on sampled messages only.
   */
  | ({ readonly type: 'message'; readonly id: string; readonly seq: number; readonly redelivered?: true; readonly ts?: number } & Payload)
  /** This client closed (it is gone); acknowledged once `onClose` settled. */
  | { readonly type: 'closed'; readonly id: string; readonly code: number; readonly reason: string; readonly seq: number }
  | ({ readonly type: 'request' } & HttpRequestFields & Payload)
  /**
   * The worker's own HTTP app asks the service to publish to one of its
   * topics (docs/http-app.md): the service publishes as if it had called
   * `publish` itself (interest routing included) and answers with a
   * `response` for `rid` whose body is the number of subscribers reached.
   */
  | ({ readonly type: 'publish'; readonly rid: string; readonly topic: string } & Payload)
  /**
   * A service with several instances: `topic` gained its first subscriber on
   * this worker (`on`), from whichever instance, or lost its last. Sent on
   * every link of the service, so that each instance's publishes reach this
   * worker exactly while it holds a subscriber (and a new instance gets every
   * topic that has one, right after the hello). Never sent for a service of
   * one instance: it knows its subscribers itself.
   */
  | { readonly type: 'interest'; readonly topic: string; readonly on: boolean }
  /**
   * Sent once on each new link, after the hello, its `interest` reports and
   * its resumed connects: this worker has re-announced everything it had for
   * the instance; what follows is new or replayed events. A (re)started
   * instance handles no client event but connects until every worker it
   * expects has sent this and every `onConnect` started meanwhile settled
   * (`resume-gate.ts`).
   */
  | { readonly type: 'resumeEnd' };

// ---- service → worker ----------------------------------------------------------

export type ServiceToWorker =
  | ({ readonly type: 'send'; readonly id: string } & Payload)
  | ({ readonly type: 'broadcast'; readonly except?: readonly string[] } & Payload)
  /** Close this client (the service called `close()`): the worker closes its socket with `code` and `reason`. */
  | { readonly type: 'closeClient'; readonly id: string; readonly code: number; readonly reason: string }
  | { readonly type: 'subscribe' | 'unsubscribe'; readonly id: string; readonly topic: string }
  | ({ readonly type: 'publish'; readonly topic: string; readonly except?: readonly string[] } & Payload)
  | ({ readonly type: 'response' } & HttpResponseFields & Payload)
  /** The handlers of these client events (by `seq`: connects, messages, closes) have settled: the worker may forget them. */
  | { readonly type: 'ack'; readonly seqs: readonly number[] }
  /** The instance stops (a reload): every event it has not acknowledged was never handled. */
  | { readonly type: 'retired' }
  /**
   * The answer to a channel hello whose `resume` the instance cannot honour
   * (it no longer holds what it sent in the ended session): what it sent to
   * this worker's clients may be lost, so the worker closes them with 1012.
   */
  | { readonly type: 'sessionLost' };

/** A channel link's continuation (the hello's `resume`). */
export interface LinkResume {
  /** The worker's connection to the instance (random, one per connection). */
  readonly stream: number;
  /** Writes of the instance read whole on this connection, over all its sessions; absent on the connection's first hello. */
  readonly received?: number;
}

// ---- service instance → service instance (peers of one service, one Unix-socket connection per direction) ----

export type PeerMessage =
  /** First message on a peer connection: which instance it comes from, with its secret for the receiving instance. */
  | { readonly type: 'peerHello'; readonly instance: number; readonly secret: string }
  /** `this.peers.send()` / `broadcast()`: a message for `onPeerMessage`. */
  | ({ readonly type: 'peer' } & Payload)
  /** `clusterSubscribers(topic)`: how many subscribers of `topic` the receiving instance has. */
  | { readonly type: 'countRequest'; readonly qid: number; readonly topic: string }
  | { readonly type: 'countReply'; readonly qid: number; readonly count: number };

export type AnyMessage = WorkerToMaster | MasterToWorker | ServiceToMaster | MasterToService | WorkerToService | ServiceToWorker | PeerMessage;

// ---- guards ------------------------------------------------------------------

/** Accepts what is a well-formed `T`, and nothing else. */
export type Guard<T> = (value: unknown) => value is T;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (!isRecord(value)) return false;
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

function isPayload(m: Readonly<Record<string, unknown>>): boolean {
  if (m.binary === undefined) return typeof m.data === 'string' || Buffer.isBuffer(m.data);
  return m.binary === true && Buffer.isBuffer(m.data);
}

function isCloseFields(m: Readonly<Record<string, unknown>>): boolean {
  return typeof m.id === 'string' && Number.isInteger(m.code) && typeof m.reason === 'string';
}

/** The optional identity fields of a connect's client or a request. */
function isIdentity(m: Readonly<Record<string, unknown>>): boolean {
  return (m.user === undefined || typeof m.user === 'string') && (m.claims === undefined || isRecord(m.claims));
}

function isHttpRequest(m: Readonly<Record<string, unknown>>): boolean {
  return (
    isIdentity(m) &&
    typeof m.rid === 'string' &&
    typeof m.method === 'string' &&
    typeof m.path === 'string' &&
    isStringRecord(m.query) &&
    isStringRecord(m.headers) &&
    isPayload(m)
  );
}

function isHttpResponse(m: Readonly<Record<string, unknown>>): boolean {
  return typeof m.rid === 'string' && Number.isInteger(m.status) && isStringRecord(m.headers) && isPayload(m);
}

function isTopicFields(m: Readonly<Record<string, unknown>>): boolean {
  return typeof m.topic === 'string' && typeof m.id === 'string';
}

function isMetricsReply(m: Readonly<Record<string, unknown>>): boolean {
  return Number.isInteger(m.qid) && Array.isArray(m.metrics);
}

function isTimestamp(value: unknown): boolean {
  return value === undefined || (typeof value === 'number' && Number.isFinite(value));
}

function isExcept(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
}

export function isClientInfo(value: unknown): value is ClientInfo {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.service === 'string' &&
    typeof value.path === 'string' &&
    typeof value.remoteAddress === 'string' &&
    isStringRecord(value.query) &&
    isStringRecord(value.headers) &&
    isIdentity(value)
  );
}

function isWorkerId(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A link secret or key: a short string (its exact form is checked where it is compared). */
function isSecret(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 128;
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isLinkResume(value: unknown): boolean {
  return isRecord(value) && isCount(value.stream) && (value.received === undefined || isCount(value.received));
}

function isCountRecord(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const key in value) if (!isCount(value[key])) return false;
  return true;
}

function isLinkLiveness(value: unknown): boolean {
  return isRecord(value) && typeof value.up === 'boolean' && isCount(value.since) && (value.waitingSince === undefined || isCount(value.waitingSince));
}

function isLinkLivenessRecord(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const key in value) if (!isLinkLiveness(value[key])) return false;
  return true;
}

function isRoutingCounters(value: unknown): boolean {
  return (
    isRecord(value) &&
    isCount(value.foreignAddressDrops) &&
    isCount(value.goneClientDrops) &&
    isCount(value.serviceQueueFull) &&
    isCount(value.linkQueueFull) &&
    isCount(value.requestsRefused)
  );
}

/**
 * One check per message type of a direction, keyed by `type`. The type
 * requires exactly one entry per member of the union (a new message type
 * without a guard, or a guard for a type that does not exist, fails to
 * compile); each entry sees a record whose `type` is already known.
 */
export type GuardTable<M extends { readonly type: string }> = { readonly [K in M['type']]: (message: Readonly<Record<string, unknown>>) => boolean };

export const WORKER_TO_MASTER_GUARDS = {
  ready: (m) => Number.isInteger(m.port),
  status: (m) => isCountRecord(m.clients) && isCountRecord(m.held) && isRoutingCounters(m.routing) && isLinkLivenessRecord(m.links),
  query: (m) => Number.isInteger(m.qid) && (m.what === 'health' || m.what === 'ready' || m.what === 'metrics'),
  metrics: isMetricsReply,
  quarantined: (m) => typeof m.service === 'string' && typeof m.endpoint === 'string' && Number.isInteger(m.deliveries) && (m.deliveries as number) > 0,
  startFailed: (m) => isRecord(m.error) && typeof m.error.message === 'string' && (m.error.code === undefined || typeof m.error.code === 'string'),
} as const satisfies GuardTable<WorkerToMaster>;

export const MASTER_TO_WORKER_GUARDS = {
  serviceUp: (m) => typeof m.service === 'string' && isCount(m.instance) && typeof m.endpoint === 'string' && isSecret(m.secret),
  serviceFailed: (m) => typeof m.service === 'string' && isCount(m.instance),
  serviceDown: (m) => typeof m.service === 'string' && isCount(m.instance),
  stop: (m) => Number.isInteger(m.code) && typeof m.reason === 'string' && isCount(m.holdMs),
  serviceResized: (m) => typeof m.service === 'string' && Number.isSafeInteger(m.instances) && (m.instances as number) >= 1,
  queryResult: (m) => Number.isInteger(m.qid) && Number.isInteger(m.status) && typeof m.contentType === 'string' && typeof m.body === 'string',
  metricsRequest: (m) => Number.isInteger(m.qid),
  tls: (m) =>
    typeof m.cert === 'string' &&
    typeof m.key === 'string' &&
    (m.ca === undefined || typeof m.ca === 'string') &&
    (m.passphrase === undefined || typeof m.passphrase === 'string'),
} as const satisfies GuardTable<MasterToWorker>;

export const SERVICE_TO_MASTER_GUARDS = {
  started: () => true,
  stopped: () => true,
  startFailed: (m) => isRecord(m.error) && typeof m.error.message === 'string',
  metrics: isMetricsReply,
  pong: () => true,
} as const satisfies GuardTable<ServiceToMaster>;

export const MASTER_TO_SERVICE_GUARDS = {
  stop: (m) => m.mode === 'retire' || m.mode === 'shutdown',
  metricsRequest: (m) => Number.isInteger(m.qid),
  ping: () => true,
  peerUp: (m) => isCount(m.instance) && typeof m.endpoint === 'string' && isSecret(m.secret),
  linkKey: (m) => isSecret(m.key) && Array.isArray(m.workers) && m.workers.every(isWorkerId),
  admitWorker: (m) => isWorkerId(m.worker),
  revokeWorker: (m) => isWorkerId(m.worker),
  remoteWorkers: (m) => typeof m.node === 'string' && Array.isArray(m.workers) && m.workers.length <= 1024 && m.workers.every(isWorkerId) && typeof m.reason === 'string' && m.reason.length <= 123,
} as const satisfies GuardTable<MasterToService>;

export const WORKER_TO_SERVICE_GUARDS = {
  hello: (m) => isWorkerId(m.worker) && isSecret(m.secret) && (m.resume === undefined || isLinkResume(m.resume)),
  connect: (m) => isClientInfo(m.client) && (m.resumed === true ? m.seq === undefined : m.resumed === undefined && Number.isSafeInteger(m.seq)),
  message: (m) =>
    typeof m.id === 'string' && Number.isSafeInteger(m.seq) && (m.redelivered === undefined || m.redelivered === true) && isPayload(m) && isTimestamp(m.ts),
  closed: (m) => isCloseFields(m) && Number.isSafeInteger(m.seq),
  request: isHttpRequest,
  publish: (m) => typeof m.rid === 'string' && typeof m.topic === 'string' && isPayload(m),
  interest: (m) => typeof m.topic === 'string' && typeof m.on === 'boolean',
  resumeEnd: () => true,
} as const satisfies GuardTable<WorkerToService>;

export const SERVICE_TO_WORKER_GUARDS = {
  send: (m) => typeof m.id === 'string' && isPayload(m),
  broadcast: (m) => isExcept(m.except) && isPayload(m),
  closeClient: isCloseFields,
  subscribe: isTopicFields,
  unsubscribe: isTopicFields,
  publish: (m) => typeof m.topic === 'string' && isExcept(m.except) && isPayload(m),
  response: isHttpResponse,
  ack: (m) => Array.isArray(m.seqs) && m.seqs.every((seq) => Number.isSafeInteger(seq)),
  retired: () => true,
  sessionLost: () => true,
} as const satisfies GuardTable<ServiceToWorker>;

export const PEER_GUARDS = {
  peerHello: (m) => isCount(m.instance) && isSecret(m.secret),
  peer: isPayload,
  countRequest: (m) => Number.isSafeInteger(m.qid) && typeof m.topic === 'string',
  countReply: (m) => Number.isSafeInteger(m.qid) && isCount(m.count),
} as const satisfies GuardTable<PeerMessage>;

/**
 * The guard of a whole direction: a record whose `type` has an entry in
 * `table` and passes it. A Map, not the object itself, so that a `type` such
 * as `'constructor'` or `'__proto__'` finds nothing instead of a prototype's
 * member.
 */
function guardOf<M extends { readonly type: string }>(table: GuardTable<M>): Guard<M> {
  const checks = new Map<unknown, (message: Readonly<Record<string, unknown>>) => boolean>(Object.entries(table));
  return (value: unknown): value is M => {
    if (!isRecord(value)) return false;
    const check = checks.get(value.type);
    return check !== undefined && check(value);
  };
}

export const isWorkerToMaster: Guard<WorkerToMaster> = guardOf<WorkerToMaster>(WORKER_TO_MASTER_GUARDS);
export const isMasterToWorker: Guard<MasterToWorker> = guardOf<MasterToWorker>(MASTER_TO_WORKER_GUARDS);
export const isServiceToMaster: Guard<ServiceToMaster> = guardOf<ServiceToMaster>(SERVICE_TO_MASTER_GUARDS);
export const isMasterToService: Guard<MasterToService> = guardOf<MasterToService>(MASTER_TO_SERVICE_GUARDS);
export const isWorkerToService: Guard<WorkerToService> = guardOf<WorkerToService>(WORKER_TO_SERVICE_GUARDS);
export const isServiceToWorker: Guard<ServiceToWorker> = guardOf<ServiceToWorker>(SERVICE_TO_WORKER_GUARDS);
export const isPeerMessage: Guard<PeerMessage> = guardOf<PeerMessage>(PEER_GUARDS);

/**
 * Splits an IPC batch into the messages the guard accepts and a count of the
 * ones it rejects. A non-array counts as one rejected message.
 */
export function readBatch<T>(value: unknown, guard: Guard<T>, onValid: (message: T) => void): number {
  if (!Array.isArray(value)) return 1;
  let rejected = 0;
  for (const item of value) {
    if (guard(item)) onValid(item);
    else rejected++;
  }
  return rejected;
}

/**
 * The largest payload, in characters, that crosses a link in one message:
 * client messages (`maxPayload` is capped to it) and what a service sends.
 * JSON escaping can grow text up to 6×, and the result must stay within one
 * link line (`MAX_LINE_LENGTH`, just under V8's string limit).
 */
export const MAX_MESSAGE_LENGTH = 64 * 1024 * 1024;

/**
 * The most bytes a client message or an HTTP body may have: 48 MiB, the cap
 * base64 once set (4 characters per 3 bytes within `MAX_MESSAGE_LENGTH`).
 * Binary and big text now travel as raw bytes (`ipc/link-codec.ts`), which
 * would allow `MAX_MESSAGE_LENGTH` itself; the cap is kept so the options'
 * bounds do not change. `maxPayload` and `maxRequestBody` are capped to it.
 */
export const MAX_PAYLOAD_BYTES = (MAX_MESSAGE_LENGTH / 4) * 3;

/** Bytes counted for a message besides its payload, in queue bounds. */
export const MESSAGE_OVERHEAD = 64;

/** Characters an identity adds to a message (claims are bounded by `maxClaimsBytes`, measured as they were checked). */
function identityLength(fields: { readonly user?: string; readonly claims?: Readonly<Record<string, unknown>> }): number {
  if (fields.user === undefined) return 0;
  return fields.user.length + (fields.claims === undefined ? 0 : JSON.stringify(fields.claims).length);
}

/** Characters of a record's keys and values. */
function recordLength(record: Readonly<Record<string, string>>): number {
  let length = 0;
  for (const key in record) length += key.length + (record[key] as string).length;
  return length;
}

/**
 * Bytes a message is expected to occupy in a queue; payloads dominate. A
 * request also counts its path, query and headers: they can reach
 * `maxHeaderSize` (1 MiB) each, and queues cut their batches (one link line)
 * by these sizes, so counting only the body would let a few hundred such
 * requests make a line past V8's string limit. A connect counts its client's
 * query and forwarded headers for the same reason.
 */
export function approximateSize(message: AnyMessage): number {
  switch (message.type) {
    case 'request':
      return message.data.length + message.path.length + recordLength(message.query) + recordLength(message.headers) + identityLength(message) + MESSAGE_OVERHEAD;
    case 'connect': {
      // The same reasoning for a connect: its client carries the handshake's query and forwarded headers.
      const { client } = message;
      return (
        client.id.length +
        client.service.length +
        client.path.length +
        recordLength(client.query) +
        recordLength(client.headers) +
        client.remoteAddress.length +
        identityLength(client) +
        MESSAGE_OVERHEAD
      );
    }
    default:
      return 'data' in message ? message.data.length + MESSAGE_OVERHEAD : MESSAGE_OVERHEAD;
  }
}

/** A text (string) or binary (Buffer) payload, as it goes on a link. */
export function encodePayload(data: string | Buffer): Payload {
  return typeof data === 'string' ? { data } : { data, binary: true };
}

/** What a payload holds: its string for text (decoded here when it came as bytes), its Buffer for binary. */
export function decodePayload(payload: Payload): string | Buffer {
  if (typeof payload.data === 'string' || payload.binary === true) return payload.data;
  return decodeText(payload.data);
}

/** A payload's bytes as a client gets them (text as UTF-8). */
export function payloadBytes(payload: Payload): Buffer {
  return typeof payload.data === 'string' ? Buffer.from(payload.data, 'utf8') : payload.data;
}

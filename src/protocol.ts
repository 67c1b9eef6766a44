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
 *
 * The guards are in `protocol-guards.ts`, the size caps and payload helpers
 * in `protocol-size.ts`; both are re-exported here, so every importer keeps
 * one import path.
 */

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

// The guards and the sizes: their own modules (types only from this one), re-exported so the import path stays one.
export * from './protocol-guards';
export * from './protocol-size';

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
 * or the master); a binary frame travels base64-encoded with `binary: true`.
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
}

/** One empty record shared by every client without query parameters or forwarded headers: an object per idle connection saved. */
const NO_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

/** `record`, or the shared empty one when it has no key. */
export function sharedIfEmpty(record: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  for (const _key in record) return record;
  return NO_FIELDS;
}

/** A payload as it crosses a process boundary. */
export interface Payload {
  readonly data: string;
  readonly binary?: true;
}

/** An HTTP request for a service's `onRequest`; `rid` is `<worker>.<seq>` like a client id. */
export interface HttpRequestFields {
  readonly rid: string;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
}

/** A service's answer to an HTTP request. */
export interface HttpResponseFields {
  readonly rid: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** What a worker may ask the master about the whole cluster. */
export type ClusterQuery = 'health' | 'metrics';

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

/** A worker's periodic report to the master, for `stats()` and `/healthz`. */
export interface WorkerStatus {
  /** Open clients per service. */
  readonly clients: Readonly<Record<string, number>>;
  /** Client events (connects, messages, closes) per service not acknowledged yet: in flight, being handled, or held while the service is down. */
  readonly held: Readonly<Record<string, number>>;
  readonly routing: RoutingCounters;
}

// ---- worker → master (control plane, node IPC) ------------------------------

export type WorkerToMaster =
  | { readonly type: 'ready'; readonly port: number }
  | ({ readonly type: 'status' } & WorkerStatus)
  | { readonly type: 'query'; readonly qid: number; readonly what: ClusterQuery }
  | { readonly type: 'metrics'; readonly qid: number; readonly metrics: MetricsSnapshot };

// ---- master → worker ---------------------------------------------------------

export type MasterToWorker =
  /** A service instance runs and listens at `endpoint` (a Unix socket path): links connect to it. */
  | { readonly type: 'serviceUp'; readonly service: string; readonly endpoint: string }
  /** A service crash-looped: its clients are closed with 1011 and new ones refused until it comes up again. */
  | { readonly type: 'serviceFailed'; readonly service: string }
  | { readonly type: 'stop'; readonly code: number; readonly reason: string }
  | { readonly type: 'queryResult'; readonly qid: number; readonly status: number; readonly contentType: string; readonly body: string }
  | { readonly type: 'metricsRequest'; readonly qid: number };

// ---- service → master --------------------------------------------------------

export type ServiceToMaster =
  | { readonly type: 'started' }
  | { readonly type: 'startFailed'; readonly error: { readonly message: string; readonly code?: string; readonly stack?: string } }
  | { readonly type: 'stopped' }
  | { readonly type: 'metrics'; readonly qid: number; readonly metrics: MetricsSnapshot };

// ---- master → service --------------------------------------------------------

export type MasterToService =
  /**
   * `retire`: a reload replaces this instance while workers stay — it handles
   * nothing more from its links, finishes what runs, tells each link what it
   * never handled, and exits. `shutdown`: the workers are gone or going — it
   * reads its links to their end (every client's close), then stops.
   */
  | { readonly type: 'stop'; readonly mode: 'retire' | 'shutdown' }
  | { readonly type: 'metricsRequest'; readonly qid: number };

// ---- worker → service (data plane, one Unix-socket link per worker and service) ----

export type WorkerToService =
  /** First message on a link: which worker it comes from (client ids of that worker start with it). */
  | { readonly type: 'hello'; readonly worker: number }
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
  /** A client is gone; acknowledged once `onClose` settled. */
  | { readonly type: 'close'; readonly id: string; readonly code: number; readonly reason: string; readonly seq: number }
  | ({ readonly type: 'request' } & HttpRequestFields & Payload);

// ---- service → worker ----------------------------------------------------------

export type ServiceToWorker =
  | ({ readonly type: 'send'; readonly id: string } & Payload)
  | ({ readonly type: 'broadcast'; readonly except?: readonly string[] } & Payload)
  | { readonly type: 'close'; readonly id: string; readonly code: number; readonly reason: string }
  | { readonly type: 'subscribe' | 'unsubscribe'; readonly id: string; readonly topic: string }
  | ({ readonly type: 'publish'; readonly topic: string; readonly except?: readonly string[] } & Payload)
  | ({ readonly type: 'response' } & HttpResponseFields & Payload)
  /** The handlers of these client events (by `seq`: connects, messages, closes) have settled: the worker may forget them. */
  | { readonly type: 'ack'; readonly seqs: readonly number[] }
  /** The instance stops (a reload): every event it has not acknowledged was never handled. */
  | { readonly type: 'retired' };

export type AnyMessage = WorkerToMaster | MasterToWorker | ServiceToMaster | MasterToService | WorkerToService | ServiceToWorker;

// ---- guards ------------------------------------------------------------------

type Guard<T> = (value: unknown) => value is T;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (!isRecord(value)) return false;
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

function isPayload(m: Record<string, unknown>): boolean {
  return typeof m.data === 'string' && (m.binary === undefined || m.binary === true);
}

function isCloseFields(m: Record<string, unknown>): boolean {
  return typeof m.id === 'string' && Number.isInteger(m.code) && typeof m.reason === 'string';
}

function isHttpRequest(m: Record<string, unknown>): boolean {
  return (
    typeof m.rid === 'string' &&
    typeof m.method === 'string' &&
    typeof m.path === 'string' &&
    isStringRecord(m.query) &&
    isStringRecord(m.headers) &&
    isPayload(m)
  );
}

function isHttpResponse(m: Record<string, unknown>): boolean {
  return typeof m.rid === 'string' && Number.isInteger(m.status) && isStringRecord(m.headers) && isPayload(m);
}

function isTopicFields(m: Record<string, unknown>): boolean {
  return typeof m.topic === 'string' && typeof m.id === 'string';
}

function isMetricsReply(m: Record<string, unknown>): boolean {
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
    isStringRecord(value.headers)
  );
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isCountRecord(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const key in value) if (!isCount(value[key])) return false;
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

export const isWorkerToMaster: Guard<WorkerToMaster> = (value): value is WorkerToMaster => {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'ready':
      return Number.isInteger(value.port);
    case 'status':
      return isCountRecord(value.clients) && isCountRecord(value.held) && isRoutingCounters(value.routing);
    case 'query':
      return Number.isInteger(value.qid) && (value.what === 'health' || value.what === 'metrics');
    case 'metrics':
      return isMetricsReply(value);
    default:
      return false;
  }
};

export const isMasterToWorker: Guard<MasterToWorker> = (value): value is MasterToWorker => {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'serviceUp':
      return typeof value.service === 'string' && typeof value.endpoint === 'string';
    case 'serviceFailed':
      return typeof value.service === 'string';
    case 'stop':
      return Number.isInteger(value.code) && typeof value.reason === 'string';
    case 'queryResult':
      return Number.isInteger(value.qid) && Number.isInteger(value.status) && typeof value.contentType === 'string' && typeof value.body === 'string';
    case 'metricsRequest':
      return Number.isInteger(value.qid);
    default:
      return false;
  }
};

export const isServiceToMaster: Guard<ServiceToMaster> = (value): value is ServiceToMaster => {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'started':
    case 'stopped':
      return true;
    case 'startFailed':
      return isRecord(value.error) && typeof value.error.message === 'string';
    case 'metrics':
      return isMetricsReply(value);
    default:
      return false;
  }
};

export const isMasterToService: Guard<MasterToService> = (value): value is MasterToService => {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'stop':
      return value.mode === 'retire' || value.mode === 'shutdown';
    case 'metricsRequest':
      return Number.isInteger(value.qid);
    default:
      return false;
  }
};

export const isWorkerToService: Guard<WorkerToService> = (value): value is WorkerToService => {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'hello':
      return Number.isSafeInteger(value.worker) && (value.worker as number) >= 0;
    case 'connect':
      return isClientInfo(value.client) && (value.resumed === true ? value.seq === undefined : value.resumed === undefined && Number.isSafeInteger(value.seq));
    case 'message':
      return (
        typeof value.id === 'string' &&
        Number.isSafeInteger(value.seq) &&
        (value.redelivered === undefined || value.redelivered === true) &&
        isPayload(value) &&
        isTimestamp(value.ts)
      );
    case 'close':
      return isCloseFields(value) && Number.isSafeInteger(value.seq);
    case 'request':
      return isHttpRequest(value);
    default:
      return false;
  }
};

export const isServiceToWorker: Guard<ServiceToWorker> = (value): value is ServiceToWorker => {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'send':
      return typeof value.id === 'string' && isPayload(value);
    case 'broadcast':
      return isExcept(value.except) && isPayload(value);
    case 'close':
      return isCloseFields(value);
    case 'subscribe':
    case 'unsubscribe':
      return isTopicFields(value);
    case 'publish':
      return typeof value.topic === 'string' && isExcept(value.except) && isPayload(value);
    case 'response':
      return isHttpResponse(value);
    case 'ack':
      return Array.isArray(value.seqs) && value.seqs.every((seq) => Number.isSafeInteger(seq));
    case 'retired':
      return true;
    default:
      return false;
  }
};

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
 * The most bytes a client message or an HTTP body may have so that it fits in
 * one link message whatever it holds: binary travels as base64 (4 characters
 * per 3 bytes), text as its string (at most one character per UTF-8 byte).
 * 48 MiB; `maxPayload` and `maxRequestBody` are capped to it.
 */
export const MAX_PAYLOAD_BYTES = (MAX_MESSAGE_LENGTH / 4) * 3;

/** Bytes counted for a message besides its payload, in queue bounds. */
export const MESSAGE_OVERHEAD = 64;

/** Bytes a message is expected to occupy in a queue; payloads dominate. */
export function approximateSize(message: AnyMessage): number {
  return 'data' in message ? message.data.length + MESSAGE_OVERHEAD : MESSAGE_OVERHEAD;
}

export function encodePayload(data: string | Buffer): Payload {
  return typeof data === 'string' ? { data } : { data: data.toString('base64'), binary: true };
}

export function decodePayload(payload: Payload): string | Buffer {
  return payload.binary === true ? Buffer.from(payload.data, 'base64') : payload.data;
}

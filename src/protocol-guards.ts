/**
 * The guards of the protocol (`protocol.ts`): one table per direction, keyed
 * by message type, and the guard of each direction built from it. What
 * arrives from another process is `unknown` until one of these has accepted
 * it. Types only from `protocol.ts` (which re-exports this module), so
 * loading either first leaves neither half-initialised.
 */
import type {
  ClientInfo,
  MasterToService,
  MasterToWorker,
  PeerMessage,
  ServiceToMaster,
  ServiceToWorker,
  WorkerToMaster,
  WorkerToService,
} from './protocol';

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

import {
  MASTER_TO_SERVICE_GUARDS,
  MASTER_TO_WORKER_GUARDS,
  SERVICE_TO_MASTER_GUARDS,
  SERVICE_TO_WORKER_GUARDS,
  WORKER_TO_MASTER_GUARDS,
  WORKER_TO_SERVICE_GUARDS,
  decodePayload,
  payloadBytes,
  encodePayload,
  type GuardTable,
  type MasterToService,
  type MasterToWorker,
  type ServiceToMaster,
  type ServiceToWorker,
  type WorkerToService,
  isMasterToService,
  isMasterToWorker,
  isServiceToMaster,
  isServiceToWorker,
  isWorkerToMaster,
  isWorkerToService,
  isPeerMessage,
  PEER_GUARDS,
  type PeerMessage,
  readBatch,
  approximateSize,
  MESSAGE_OVERHEAD,
  type WorkerToMaster,
} from '../src/protocol';

const client = { id: '1.1', service: 'echo', path: '/echo', query: { a: 'b' }, headers: { origin: 'x' }, remoteAddress: '127.0.0.1' };

/** A link key or secret as the master makes them: 43 base64url characters. */
const SECRET = 'k'.repeat(43);
const routing = { foreignAddressDrops: 0, goneClientDrops: 1, serviceQueueFull: 0, linkQueueFull: 0, requestsRefused: 2 };

describe('guards accept every well-formed message', () => {
  test.each<[string, (v: unknown) => boolean, unknown]>([
    ['worker ready', isWorkerToMaster, { type: 'ready', port: 8080 }],
    ['worker status', isWorkerToMaster, { type: 'status', clients: { echo: 3 }, held: { echo: 0 }, routing, links: { echo: { up: false, since: 1 } } }],
    ['worker query', isWorkerToMaster, { type: 'query', qid: 1, what: 'health' }],
    ['master serviceUp', isMasterToWorker, { type: 'serviceUp', service: 'echo', instance: 0, endpoint: '/tmp/x/0.1.sock', secret: SECRET }],
    ['master serviceFailed', isMasterToWorker, { type: 'serviceFailed', service: 'echo', instance: 2 }],
    ['master serviceDown', isMasterToWorker, { type: 'serviceDown', service: 'echo', instance: 1 }],
    ['master stop', isMasterToWorker, { type: 'stop', code: 1001, reason: 'going away', holdMs: 1000 }],
    ['service started', isServiceToMaster, { type: 'started' }],
    ['service startFailed', isServiceToMaster, { type: 'startFailed', error: { message: 'boom' } }],
    ['service stopped', isServiceToMaster, { type: 'stopped' }],
    ['to service stop (retire)', isMasterToService, { type: 'stop', mode: 'retire' }],
    ['to service stop (shutdown)', isMasterToService, { type: 'stop', mode: 'shutdown' }],
    ['to service linkKey', isMasterToService, { type: 'linkKey', key: SECRET, workers: [1, 2] }],
    ['to service linkKey before any worker', isMasterToService, { type: 'linkKey', key: SECRET, workers: [] }],
    ['to service admitWorker', isMasterToService, { type: 'admitWorker', worker: 3 }],
    ['to service revokeWorker', isMasterToService, { type: 'revokeWorker', worker: 3 }],
    ['to service remoteWorkers', isMasterToService, { type: 'remoteWorkers', node: 'b', workers: [8589934593], reason: 'node lost' }],
    ['link hello', isWorkerToService, { type: 'hello', worker: 3, secret: SECRET }],
    ['channel link hello continuing a stream', isWorkerToService, { type: 'hello', worker: 3, secret: SECRET, resume: { stream: 77, received: 12 } }],
    ['link connect', isWorkerToService, { type: 'connect', client, seq: 1 }],
    ['link connect of an authenticated client', isWorkerToService, { type: 'connect', client: { ...client, user: 'ann', claims: { sub: 'ann', roles: ['a'] } }, seq: 1 }],
    ['link request with an identity', isWorkerToService, { type: 'request', rid: '1.4', method: 'GET', path: '/', query: {}, headers: {}, data: '', user: 'ann', claims: { sub: 'ann' } }],
    ['worker startFailed', isWorkerToMaster, { type: 'startFailed', error: { message: 'cannot load' } }],
    ['link resumed connect', isWorkerToService, { type: 'connect', client, resumed: true }],
    ['link text message', isWorkerToService, { type: 'message', id: '1.1', seq: 1, data: 'hi' }],
    ['link binary message', isWorkerToService, { type: 'message', id: '1.1', seq: 2, data: Buffer.from([0, 1]), binary: true, redelivered: true, ts: 5 }],
    ['link text message as UTF-8 bytes (read raw)', isWorkerToService, { type: 'message', id: '1.1', seq: 2, data: Buffer.from('héllo') }],
    ['link closed', isWorkerToService, { type: 'closed', id: '1.1', code: 1006, reason: '', seq: 7 }],
    ['link request', isWorkerToService, { type: 'request', rid: '1.4', method: 'POST', path: '/', query: {}, headers: {}, data: 'x' }],
    ['service send', isServiceToWorker, { type: 'send', id: '1.1', data: 'x' }],
    ['service broadcast', isServiceToWorker, { type: 'broadcast', data: 'x', except: ['1.2'] }],
    ['service closeClient', isServiceToWorker, { type: 'closeClient', id: '1.1', code: 4000, reason: 'bye' }],
    ['service subscribe', isServiceToWorker, { type: 'subscribe', id: '1.1', topic: 't' }],
    ['service publish', isServiceToWorker, { type: 'publish', topic: 't', data: 'x' }],
    ['service response', isServiceToWorker, { type: 'response', rid: '1.4', status: 200, headers: {}, data: '' }],
    ['service ack', isServiceToWorker, { type: 'ack', seqs: [1, 2] }],
    ['service retired', isServiceToWorker, { type: 'retired' }],
    ['channel session lost', isServiceToWorker, { type: 'sessionLost' }],
  ])('%s', (_name, guard, message) => {
    expect(guard(message)).toBe(true);
  });
});

describe('guards reject malformed messages', () => {
  test.each<[string, (v: unknown) => boolean, unknown]>([
    ['null', isWorkerToMaster, null],
    ['an array', isWorkerToMaster, []],
    ['an unknown type', isWorkerToMaster, { type: 'nope' }],
    ['a port that is not an integer', isWorkerToMaster, { type: 'ready', port: '80' }],
    ['a connect whose user is not a string', isWorkerToService, { type: 'connect', client: { ...client, user: 7 }, seq: 1 }],
    ['a connect whose claims are not an object', isWorkerToService, { type: 'connect', client: { ...client, user: 'ann', claims: ['x'] }, seq: 1 }],
    ['a request whose user is not a string', isWorkerToService, { type: 'request', rid: '1.4', method: 'GET', path: '/', query: {}, headers: {}, data: '', user: null }],
    ['a worker startFailed without a message', isWorkerToMaster, { type: 'startFailed', error: {} }],
    ['a publish request without a topic', isWorkerToService, { type: 'publish', rid: '1.5', data: 'x' }],
    ['a status with a negative count', isWorkerToMaster, { type: 'status', clients: { echo: -1 }, held: {}, routing, links: {} }],
    ['a status without routing counters', isWorkerToMaster, { type: 'status', clients: {}, held: {} }],
    ['a status without link liveness', isWorkerToMaster, { type: 'status', clients: {}, held: {}, routing }],
    ['a link liveness whose up is not a boolean', isWorkerToMaster, { type: 'status', clients: {}, held: {}, routing, links: { echo: { up: 1, since: 1 } } }],
    ['a quarantine report without deliveries', isWorkerToMaster, { type: 'quarantined', service: 'echo', endpoint: '/tmp/x/0.1.sock', deliveries: 0 }],
    ['data traffic on the control plane', isMasterToWorker, { type: 'send', id: '1.1', data: 'x' }],
    ['a stop without a mode', isMasterToService, { type: 'stop' }],
    ['a worker stop without its hold bound', isMasterToWorker, { type: 'stop', code: 1012, reason: 'server reloading' }],
    ['a worker stop with a negative hold bound', isMasterToWorker, { type: 'stop', code: 1012, reason: 'server reloading', holdMs: -1 }],
    ['a hello without a worker', isWorkerToService, { type: 'hello' }],
    ['a hello without a secret', isWorkerToService, { type: 'hello', worker: 3 }],
    ['a hello with a secret that is not a string', isWorkerToService, { type: 'hello', worker: 3, secret: 5 }],
    ['a hello with an oversized secret', isWorkerToService, { type: 'hello', worker: 3, secret: 'x'.repeat(129) }],
    ['a hello whose resume has no stream', isWorkerToService, { type: 'hello', worker: 3, secret: SECRET, resume: { received: 1 } }],
    ['a hello whose resume counts negative writes', isWorkerToService, { type: 'hello', worker: 3, secret: SECRET, resume: { stream: 1, received: -1 } }],
    ['a serviceUp without a secret', isMasterToWorker, { type: 'serviceUp', service: 'echo', instance: 0, endpoint: '/tmp/x/0.1.sock' }],
    ['a serviceUp without its instance', isMasterToWorker, { type: 'serviceUp', service: 'echo', endpoint: '/tmp/x/0.1.sock', secret: SECRET }],
    ['an interest without on', isWorkerToService, { type: 'interest', topic: 't' }],
    ['a tls message with a key that is not text', isMasterToWorker, { type: 'tls', cert: 'x', key: 7 }],
    ['a linkKey without workers', isMasterToService, { type: 'linkKey', key: SECRET }],
    ['a linkKey with a negative worker id', isMasterToService, { type: 'linkKey', key: SECRET, workers: [-1] }],
    ['an admitWorker with a fractional id', isMasterToService, { type: 'admitWorker', worker: 1.5 }],
    ['a client without headers', isWorkerToService, { type: 'connect', client: { ...client, headers: undefined }, seq: 1 }],
    ['a header that is not a string', isWorkerToService, { type: 'connect', client: { ...client, headers: { a: 1 } }, seq: 1 }],
    ['data that is not a string', isWorkerToService, { type: 'message', id: '1.1', seq: 1, data: 5 }],
    ['binary that is not true', isWorkerToService, { type: 'message', id: '1.1', seq: 1, data: 'x', binary: false }],
    ['binary as a string (base64 is no longer the format)', isWorkerToService, { type: 'message', id: '1.1', seq: 1, data: 'AAE=', binary: true }],
    ['binary with data that is not bytes', isServiceToWorker, { type: 'send', id: '1.1', data: [0, 1], binary: true }],
    ['a message without seq', isWorkerToService, { type: 'message', id: '1.1', data: 'x' }],
    ['resumed that is not true', isWorkerToService, { type: 'connect', client, resumed: 'yes' }],
    ['resumed false with a seq', isWorkerToService, { type: 'connect', client, resumed: false, seq: 1 }],
    ['a connect with neither seq nor resumed', isWorkerToService, { type: 'connect', client }],
    ['a resumed connect with a seq', isWorkerToService, { type: 'connect', client, resumed: true, seq: 1 }],
    ['a connect with a fractional seq', isWorkerToService, { type: 'connect', client, seq: 1.5 }],
    ['a connect with a seq that is not a number', isWorkerToService, { type: 'connect', client, seq: '1' }],
    ['a link closed without seq', isWorkerToService, { type: 'closed', id: '1.1', code: 1000, reason: '' }],
    ['a link closed with a fractional seq', isWorkerToService, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 2.5 }],
    ['a link closed with a seq that is not a number', isWorkerToService, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: '2' }],
    ['a link closed without a reason', isWorkerToService, { type: 'closed', id: '1.1', code: 1000, seq: 2 }],
    ['a closeClient with a fractional close code', isServiceToWorker, { type: 'closeClient', id: '1.1', code: 1000.5, reason: '' }],
    ['except with a number', isServiceToWorker, { type: 'broadcast', data: 'x', except: [1] }],
    ['send without id', isServiceToWorker, { type: 'send', data: 'x' }],
    ['an ack of a fraction', isServiceToWorker, { type: 'ack', seqs: [1.5] }],
    ['startFailed without message', isServiceToMaster, { type: 'startFailed', error: {} }],
  ])('%s', (_name, guard, message) => {
    expect(guard(message)).toBe(false);
  });
});

test('readBatch passes valid messages in order and counts the rest', () => {
  const seen: WorkerToMaster[] = [];
  const rejected = readBatch(
    [{ type: 'ready', port: 1 }, { type: 'bogus' }, { type: 'ready', port: 2 }, 'junk'],
    isWorkerToMaster,
    (message) => seen.push(message),
  );
  expect(rejected).toBe(2);
  expect(seen).toEqual([{ type: 'ready', port: 1 }, { type: 'ready', port: 2 }]);
  expect(readBatch({ type: 'ready', port: 1 }, isWorkerToMaster, () => undefined)).toBe(1);
});

test('payloads keep text as text and binary as bytes', () => {
  expect(encodePayload('héllo')).toEqual({ data: 'héllo' });
  const bytes = Buffer.from([0, 255, 10]);
  const encoded = encodePayload(bytes);
  expect(encoded.binary).toBe(true);
  expect(decodePayload(encoded)).toEqual(bytes);
  expect(decodePayload({ data: 'plain' })).toBe('plain');
  // Text read raw from a link is its UTF-8 bytes: decoded to its string for a service.
  expect(decodePayload({ data: Buffer.from('héllo €', 'utf8') })).toBe('héllo €');
  expect(payloadBytes({ data: 'héllo' })).toEqual(Buffer.from('héllo', 'utf8'));
  expect(payloadBytes(encoded)).toBe(bytes);
});

/** One valid sample per message type: a new type without a sample fails to compile, as its guard would. */
type Samples<M extends { readonly type: string }> = { readonly [K in M['type']]: M & { readonly type: K } };

interface Direction<M extends { readonly type: string }> {
  readonly name: string;
  readonly table: GuardTable<M>;
  readonly guard: (value: unknown) => boolean;
  readonly samples: Samples<M>;
}

function direction<M extends { readonly type: string }>(name: string, table: GuardTable<M>, guard: (value: unknown) => boolean, samples: Samples<M>): Direction<{ readonly type: string }> {
  return { name, table, guard, samples } as unknown as Direction<{ readonly type: string }>;
}

const DIRECTIONS = [
  direction<WorkerToMaster>('worker → master', WORKER_TO_MASTER_GUARDS, isWorkerToMaster, {
    ready: { type: 'ready', port: 8080 },
    status: { type: 'status', clients: { echo: 3 }, held: { echo: 0 }, routing, links: { echo: { up: true, since: 5, waitingSince: 7 } } },
    query: { type: 'query', qid: 1, what: 'metrics' },
    metrics: { type: 'metrics', qid: 2, metrics: [] },
    quarantined: { type: 'quarantined', service: 'echo', endpoint: '/tmp/x/0.1.sock', deliveries: 3 },
    startFailed: { type: 'startFailed', error: { message: 'cannot load /x/auth.js', code: 'SY_ERR_WORKER_MODULE_LOAD_FAILED' } },
  }),
  direction<MasterToWorker>('master → worker', MASTER_TO_WORKER_GUARDS, isMasterToWorker, {
    serviceUp: { type: 'serviceUp', service: 'echo', instance: 1, endpoint: '/tmp/x/0.1.sock', secret: SECRET },
    serviceFailed: { type: 'serviceFailed', service: 'echo', instance: 0 },
    serviceDown: { type: 'serviceDown', service: 'echo', instance: 0 },
    stop: { type: 'stop', code: 1001, reason: 'going away', holdMs: 1000 },
    serviceResized: { type: 'serviceResized', service: 'chat', instances: 3 },
    queryResult: { type: 'queryResult', qid: 1, status: 200, contentType: 'text/plain', body: 'ok' },
    metricsRequest: { type: 'metricsRequest', qid: 3 },
    tls: { type: 'tls', cert: '-----BEGIN CERTIFICATE-----', key: '-----BEGIN PRIVATE KEY-----', ca: '-----BEGIN CERTIFICATE-----' },
  }),
  direction<ServiceToMaster>('service → master', SERVICE_TO_MASTER_GUARDS, isServiceToMaster, {
    started: { type: 'started' },
    startFailed: { type: 'startFailed', error: { message: 'boom', code: 'X' } },
    stopped: { type: 'stopped' },
    metrics: { type: 'metrics', qid: 4, metrics: [{ name: 'x' }] },
    pong: { type: 'pong' },
  }),
  direction<MasterToService>('master → service', MASTER_TO_SERVICE_GUARDS, isMasterToService, {
    stop: { type: 'stop', mode: 'retire' },
    metricsRequest: { type: 'metricsRequest', qid: 5 },
    ping: { type: 'ping' },
    linkKey: { type: 'linkKey', key: SECRET, workers: [1, 2] },
    admitWorker: { type: 'admitWorker', worker: 3 },
    revokeWorker: { type: 'revokeWorker', worker: 3 },
    remoteWorkers: { type: 'remoteWorkers', node: 'b', workers: [], reason: 'node lost' },
    peerUp: { type: 'peerUp', instance: 1, endpoint: '/tmp/x/1.2.peer.sock', secret: SECRET },
  }),
  direction<WorkerToService>('worker → service', WORKER_TO_SERVICE_GUARDS, isWorkerToService, {
    hello: { type: 'hello', worker: 3, secret: SECRET },
    connect: { type: 'connect', client, seq: 1 },
    message: { type: 'message', id: '1.1', seq: 2, data: Buffer.from([0, 1]), binary: true, redelivered: true, ts: 5 },
    closed: { type: 'closed', id: '1.1', code: 1006, reason: '', seq: 7 },
    request: { type: 'request', rid: '1.4', method: 'POST', path: '/', query: { a: 'b' }, headers: { h: 'v' }, data: 'x' },
    publish: { type: 'publish', rid: '1.5', topic: 'news', data: 'hello' },
    interest: { type: 'interest', topic: 't', on: false },
    resumeEnd: { type: 'resumeEnd' },
  }),
  direction<ServiceToWorker>('service → worker', SERVICE_TO_WORKER_GUARDS, isServiceToWorker, {
    send: { type: 'send', id: '1.1', data: Buffer.from('x'), binary: true },
    broadcast: { type: 'broadcast', data: 'x', except: ['1.2'] },
    closeClient: { type: 'closeClient', id: '1.1', code: 4000, reason: 'bye' },
    subscribe: { type: 'subscribe', id: '1.1', topic: 't' },
    unsubscribe: { type: 'unsubscribe', id: '1.1', topic: 't' },
    publish: { type: 'publish', topic: 't', data: 'x', except: ['1.1'] },
    response: { type: 'response', rid: '1.4', status: 200, headers: { a: 'b' }, data: '' },
    ack: { type: 'ack', seqs: [1, 2] },
    retired: { type: 'retired' },
    sessionLost: { type: 'sessionLost' },
  }),
  direction<PeerMessage>('peer → peer', PEER_GUARDS, isPeerMessage, {
    peerHello: { type: 'peerHello', instance: 1, secret: SECRET },
    peer: { type: 'peer', data: '{"rooms":{}}' },
    countRequest: { type: 'countRequest', qid: 1, topic: 't' },
    countReply: { type: 'countReply', qid: 1, count: 3 },
  }),
];

/** Values no field of any message accepts. */
const GARBAGE: readonly unknown[] = [{ garbage: true }, Symbol('garbage'), Number.NaN, 'garbage-∞'];

describe.each(DIRECTIONS)('guard table $name', ({ table, guard, samples }) => {
  const types = Object.keys(table);

  test('has one sample per entry, and every sample passes its entry and the direction guard', () => {
    expect(Object.keys(samples).sort()).toEqual([...types].sort());
    for (const type of types) {
      const sample = (samples as Record<string, Record<string, unknown>>)[type] as Record<string, unknown>;
      expect([type, (table as Record<string, (m: Record<string, unknown>) => boolean>)[type]?.(sample)]).toEqual([type, true]);
      expect([type, guard(sample)]).toEqual([type, true]);
    }
  });

  test('every entry rejects its sample with any one field replaced by garbage', () => {
    for (const type of types) {
      const sample = (samples as Record<string, Record<string, unknown>>)[type] as Record<string, unknown>;
      for (const field of Object.keys(sample).filter((key) => key !== 'type')) {
        for (const garbage of GARBAGE) {
          // 'garbage-∞' is a valid string: only non-string garbage applies to string fields.
          if (typeof sample[field] === 'string' && typeof garbage === 'string') continue;
          expect([type, field, guard({ ...sample, [field]: garbage })]).toEqual([type, field, false]);
        }
      }
    }
  });

  test('rejects non-records, unknown types and types that name prototype members', () => {
    for (const value of [null, undefined, 7, 'ready', [], [{ type: types[0] }]]) expect(guard(value)).toBe(false);
    for (const type of ['nope', '', 'constructor', 'toString', '__proto__', 'hasOwnProperty', types[0]?.toUpperCase()]) {
      expect([type, guard({ type })]).toEqual([type, false]);
    }
    expect(guard({ ...((samples as Record<string, object>)[types[0] as string]), type: undefined })).toBe(false);
  });
});

test("a request's queue size counts its headers, query and path, not only its body", () => {
  // Queues batch by these sizes: counted as 64 bytes, 512 requests with 1 MiB of headers each would make one line past V8's string limit.
  const headers = { cookie: 'c'.repeat(1024 * 1024), host: 'example' };
  const size = approximateSize({ type: 'request', rid: '1.1', method: 'GET', path: '/p'.repeat(100), query: { q: 'v'.repeat(1000) }, headers, data: 'body' });
  expect(size).toBeGreaterThanOrEqual(1024 * 1024 + 'cookie'.length + 'example'.length + 'host'.length + 200 + 1001 + 'body'.length);
  expect(approximateSize({ type: 'message', id: '1.1', seq: 1, data: 'abc' })).toBe(3 + MESSAGE_OVERHEAD);
  expect(approximateSize({ type: 'ack', seqs: [1] })).toBe(MESSAGE_OVERHEAD);
});

test("a connect's queue size counts its client's query and forwarded headers, and so does a resumed connect", () => {
  // Resumed connects are queued all at once when a link reaches a new instance: counted as 64 bytes each,
  // thousands of clients with large forwarded headers would make one line past the reader's limit.
  const client = { id: '1.1', service: 'chat', path: '/chat', query: { room: 'r'.repeat(1000) }, headers: { 'user-agent': 'u'.repeat(16 * 1024) }, remoteAddress: '127.0.0.1' };
  const least = 16 * 1024 + 'user-agent'.length + 1000 + 'room'.length + '/chat'.length;
  expect(approximateSize({ type: 'connect', client, seq: 1 })).toBeGreaterThanOrEqual(least);
  expect(approximateSize({ type: 'connect', client, resumed: true })).toBeGreaterThanOrEqual(least);
});

import {
  decodePayload,
  encodePayload,
  isMasterToService,
  isMasterToWorker,
  isServiceToMaster,
  isWorkerToMaster,
  readBatch,
  type WorkerToMaster,
} from '../src/protocol';

const client = { id: '1.1', service: 'echo', path: '/echo', query: { a: 'b' }, headers: { origin: 'x' }, remoteAddress: '127.0.0.1' };

describe('guards accept every well-formed message', () => {
  test.each<[string, (v: unknown) => boolean, unknown]>([
    ['worker ready', isWorkerToMaster, { type: 'ready', port: 8080 }],
    ['worker connect', isWorkerToMaster, { type: 'connect', client }],
    ['worker text message', isWorkerToMaster, { type: 'message', service: 'echo', id: '1.1', data: 'hi' }],
    ['worker binary message', isWorkerToMaster, { type: 'message', service: 'echo', id: '1.1', data: 'AAE=', binary: true }],
    ['worker close', isWorkerToMaster, { type: 'close', service: 'echo', id: '1.1', code: 1000, reason: '' }],
    ['master send', isMasterToWorker, { type: 'send', id: '1.1', data: 'x' }],
    ['master broadcast', isMasterToWorker, { type: 'broadcast', service: 'echo', data: 'x', except: ['1.2'] }],
    ['master close', isMasterToWorker, { type: 'close', id: '1.1', code: 4000, reason: 'bye' }],
    ['master stop', isMasterToWorker, { type: 'stop', code: 1001, reason: 'going away' }],
    ['service started', isServiceToMaster, { type: 'started' }],
    ['service startFailed', isServiceToMaster, { type: 'startFailed', error: { message: 'boom' } }],
    ['service send', isServiceToMaster, { type: 'send', id: '1.1', data: 'x' }],
    ['service broadcast', isServiceToMaster, { type: 'broadcast', data: 'x' }],
    ['service close', isServiceToMaster, { type: 'close', id: '1.1', code: 1000, reason: '' }],
    ['service stopped', isServiceToMaster, { type: 'stopped' }],
    ['to service connect', isMasterToService, { type: 'connect', client, resumed: true }],
    ['to service message', isMasterToService, { type: 'message', id: '1.1', seq: 1, data: 'x', redelivered: true }],
    ['to service close', isMasterToService, { type: 'close', id: '1.1', code: 1006, reason: '' }],
    ['to service stop', isMasterToService, { type: 'stop' }],
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
    ['a client without headers', isWorkerToMaster, { type: 'connect', client: { ...client, headers: undefined } }],
    ['a header that is not a string', isWorkerToMaster, { type: 'connect', client: { ...client, headers: { a: 1 } } }],
    ['data that is not a string', isWorkerToMaster, { type: 'message', service: 'echo', id: '1.1', data: 5 }],
    ['binary that is not true', isWorkerToMaster, { type: 'message', service: 'echo', id: '1.1', data: 'x', binary: false }],
    ['a fractional close code', isMasterToWorker, { type: 'close', id: '1.1', code: 1000.5, reason: '' }],
    ['except with a number', isMasterToWorker, { type: 'broadcast', service: 'e', data: 'x', except: [1] }],
    ['startFailed without message', isServiceToMaster, { type: 'startFailed', error: {} }],
    ['send without id', isServiceToMaster, { type: 'send', data: 'x' }],
    ['resumed that is not true', isMasterToService, { type: 'connect', client, resumed: 'yes' }],
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
});

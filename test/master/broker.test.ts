import pino from 'pino';
import { Broker, type ServiceLink, type WorkerLink } from '../../src/master/broker';
import type { ClientInfo, ClientMessageFields, MasterToService, MasterToWorker } from '../../src/protocol';

class FakeWorker implements WorkerLink {
  readonly got: MasterToWorker[] = [];
  deliver(message: MasterToWorker): boolean {
    this.got.push(message);
    return true;
  }
}

class FakeService implements ServiceLink {
  readonly got: Array<MasterToService | ClientMessageFields> = [];
  available = true;
  room = true;
  deliverMessage(message: ClientMessageFields): boolean {
    if (!this.room) return false;
    this.got.push(message);
    return true;
  }
  deliver(message: Exclude<MasterToService, { type: 'message' }>): boolean {
    this.got.push(message);
    return this.available;
  }
}

const client = (id: string, service = 'chat'): ClientInfo => ({ id, service, path: `/${service}`, query: {}, headers: {}, remoteAddress: '' });

function setup(): { broker: Broker; workers: Map<number, FakeWorker>; chat: FakeService } {
  const workers = new Map([[1, new FakeWorker()], [2, new FakeWorker()], [3, new FakeWorker()]]);
  const chat = new FakeService();
  const other = new FakeService();
  const broker = new Broker(
    { service: (name) => (name === 'chat' ? chat : name === 'other' ? other : undefined), worker: (id) => workers.get(id), workers: () => workers.values() },
    pino({ level: 'silent' }),
  );
  return { broker, workers, chat };
}

test('publish goes once to each worker with a subscriber, nowhere else', () => {
  const { broker, workers } = setup();
  broker.fromWorker(1, { type: 'connect', client: client('1.1') });
  broker.fromWorker(1, { type: 'connect', client: client('1.2') });
  broker.fromWorker(2, { type: 'connect', client: client('2.1') });
  broker.fromService('chat', { type: 'subscribe', id: '1.1', topic: 't' });
  broker.fromService('chat', { type: 'subscribe', id: '1.2', topic: 't' });
  broker.fromService('chat', { type: 'publish', topic: 't', data: 'x' });
  const publishes = (id: number): number => workers.get(id)?.got.filter((m) => m.type === 'publish').length ?? 0;
  expect([publishes(1), publishes(2), publishes(3)]).toEqual([1, 0, 0]);
  broker.fromWorker(1, { type: 'close', service: 'chat', id: '1.1', code: 1000, reason: '' });
  broker.fromWorker(1, { type: 'close', service: 'chat', id: '1.2', code: 1000, reason: '' });
  broker.fromService('chat', { type: 'publish', topic: 't', data: 'y' });
  expect(publishes(1)).toBe(1);
});

test('a service addressing a client that is not its own is dropped and counted', () => {
  const { broker, workers } = setup();
  broker.fromWorker(1, { type: 'connect', client: client('1.1', 'other') });
  broker.fromService('chat', { type: 'send', id: '1.1', data: 'x' });
  broker.fromService('chat', { type: 'close', id: 'garbage', code: 1000, reason: '' });
  broker.fromService('chat', { type: 'send', id: '3.9', data: 'gone' });
  expect(broker.stats.foreignAddressDrops).toBe(2);
  expect(broker.stats.goneClientDrops).toBe(1);
  expect(workers.get(1)?.got).toEqual([]);
});

test('a full service queue closes the sender with 1013; a down service answers requests 503', () => {
  const { broker, workers, chat } = setup();
  broker.fromWorker(2, { type: 'connect', client: client('2.1') });
  chat.room = false;
  broker.fromWorker(2, { type: 'message', service: 'chat', id: '2.1', data: 'x' });
  expect(workers.get(2)?.got).toContainEqual({ type: 'close', id: '2.1', code: 1013, reason: 'service busy, try again later' });
  chat.available = false;
  broker.fromWorker(2, { type: 'request', service: 'chat', rid: '2.5', method: 'GET', path: '/', query: {}, headers: {}, data: '' });
  expect(workers.get(2)?.got.at(-1)).toMatchObject({ type: 'response', rid: '2.5', status: 503, headers: { 'retry-after': '1' } });
});

test('a dead worker: its clients, and only they, are reported closed with 1006', () => {
  const { broker, chat } = setup();
  broker.fromWorker(1, { type: 'connect', client: client('1.1') });
  broker.fromWorker(2, { type: 'connect', client: client('2.1') });
  expect(broker.workerGone(1)).toBe(1);
  expect(chat.got.filter((m) => 'type' in m && m.type === 'close')).toEqual([{ type: 'close', id: '1.1', code: 1006, reason: 'worker exited' }]);
  expect(broker.clientCount).toBe(1);
});

test('a response is routed only from the service the request went to', () => {
  const { broker, workers } = setup();
  broker.fromWorker(1, { type: 'request', service: 'chat', rid: '1.7', method: 'GET', path: '/', query: {}, headers: {}, data: '' });
  broker.fromService('other', { type: 'response', rid: '1.7', status: 200, headers: {}, data: 'forged' });
  expect(workers.get(1)?.got.filter((m) => m.type === 'response')).toEqual([]);
  expect(broker.stats.foreignAddressDrops).toBe(1);
  broker.fromService('chat', { type: 'response', rid: '1.7', status: 200, headers: {}, data: 'real' });
  broker.fromService('chat', { type: 'response', rid: '1.7', status: 200, headers: {}, data: 'again' });
  expect(workers.get(1)?.got.filter((m) => m.type === 'response')).toEqual([{ type: 'response', rid: '1.7', status: 200, headers: {}, data: 'real' }]);
});

test('a fresh service instance starts without the old subscriptions, at the master and at the workers', () => {
  const { broker, workers } = setup();
  broker.fromWorker(2, { type: 'connect', client: client('2.1') });
  broker.fromService('chat', { type: 'subscribe', id: '2.1', topic: 'room:a' });
  expect(broker.dropTopicsOf('chat')).toBe(1);
  expect(workers.get(2)?.got.at(-1)).toEqual({ type: 'unsubscribe', service: 'chat', topic: 'room:a', id: '2.1' });
  broker.fromService('chat', { type: 'publish', topic: 'room:a', data: 'x' });
  expect(workers.get(2)?.got.filter((m) => m.type === 'publish')).toEqual([]);
});

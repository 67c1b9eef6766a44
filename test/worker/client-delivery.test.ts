import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { ClientIdAllocator } from '../../src/client-id';
import type { ServiceToWorker } from '../../src/protocol';
import { ClientDelivery } from '../../src/worker/client-delivery';
import { ClientRegistry, type ClientEntry } from '../../src/worker/client-registry';
import { RoutingTally } from '../../src/worker/routing-tally';
import type { ServiceLink } from '../../src/worker/service-link';
import { SocketCorker } from '../../src/worker/socket-corker';
import type { ServiceCounters } from '../../src/worker/worker-metrics';
import { recordingLogger, type RecordingLogger } from '../helpers/recording-logger';

/** Just enough of a `ws` socket for delivery: state, send and close, recorded. */
class FakeSocket extends EventEmitter {
  readyState: WebSocket['readyState'] = WebSocket.OPEN;
  readonly extensions = '';
  readonly sent: Array<[string | Buffer, boolean]> = [];
  readonly closes: Array<[number, string]> = [];
  send(data: string | Buffer, options: { binary: boolean }): void {
    this.sent.push([data, options.binary]);
  }
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
  }
}

const WORKER = 1;
const FOREIGN_WARNING = 'service addressed a client that is not its own; dropped';

interface Setup {
  readonly delivery: ClientDelivery;
  readonly clients: ClientRegistry;
  readonly routing: RoutingTally;
  /** Messages counted by type for the metrics. */
  readonly received: Record<string, number>;
  readonly logger: RecordingLogger;
  /** Batches the delivery ran under the corker. */
  readonly corkedBatches: number[];
  client(id: string, service?: string): { socket: FakeSocket; counters: ServiceCounters };
}

function setup(): Setup {
  const clients = new ClientRegistry();
  const routing = new RoutingTally();
  const received: Record<string, number> = {};
  const logger = recordingLogger();
  // This worker has handed out ids 1.1 to 1.g (16): the tests' own and gone clients are among them.
  const ids = new ClientIdAllocator(WORKER);
  for (let i = 0; i < 16; i++) ids.next();
  const corkedBatches: number[] = [];
  const corker = new SocketCorker();
  const recordingCorker = {
    batch: (work: () => void) => {
      corkedBatches.push(1);
      corker.batch(work);
    },
    touch: (socket: WebSocket) => corker.touch(socket),
  };
  const delivery = new ClientDelivery({
    workerId: WORKER,
    ids,
    clients,
    limits: { afterSend: () => undefined },
    closes: { settle: () => undefined },
    corker: recordingCorker,
    routing,
    metrics: { linkMessage: (type) => void (received[type] = (received[type] ?? 0) + 1) },
    log: logger.log,
    settleResponse: () => false,
    statusChanged: () => undefined,
    interestChanged: () => undefined,
  });
  return {
    delivery,
    clients,
    routing,
    received,
    logger,
    corkedBatches,
    client(id, service = 'echo') {
      const socket = new FakeSocket();
      const counters: ServiceCounters = { open: 1, opened: 1, messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };
      // No TCP socket under the fake: it takes no shared frame, so a fan-out goes through send() too.
      const entry: ClientEntry = { id, service, socket: socket as unknown as WebSocket, counters, link: link(service), sharedFrames: false, lastSeq: 0 };
      clients.add(entry);
      return { socket, counters };
    },
  };
}

/** One link per service, as a worker with one instance per service has: a client is its link's own. */
const LINKS = new Map<string, ServiceLink>();
function link(service: string): ServiceLink {
  let found = LINKS.get(service);
  if (found === undefined) {
    found = { service } as ServiceLink;
    LINKS.set(service, found);
  }
  return found;
}

test('bytes sent count UTF-8 bytes for a single send as for a fan-out', () => {
  const s = setup();
  const { socket, counters } = s.client('1.1');
  const text = 'é€😀';
  s.delivery.fromLink(link('echo'), [{ type: 'send', id: '1.1', data: text }]);
  expect(socket.sent).toEqual([[text, false]]);
  expect(counters.bytesOut).toBe(Buffer.byteLength(text));
  s.delivery.fromLink(link('echo'), [{ type: 'broadcast', data: text }]);
  expect(counters).toMatchObject({ messagesOut: 2, bytesOut: 2 * Buffer.byteLength(text) });
  // A binary send counts its decoded bytes.
  s.delivery.fromLink(link('echo'), [{ type: 'send', id: '1.1', data: Buffer.from([1, 2, 3]), binary: true }]);
  expect(counters.bytesOut).toBe(2 * Buffer.byteLength(text) + 3);
});

test('a batch of one message writes each socket once: no corking; a batch of several is corked', () => {
  const s = setup();
  const a = s.client('1.1');
  const b = s.client('1.2');
  s.delivery.fromLink(link('echo'), [{ type: 'broadcast', data: 'all' }]);
  s.delivery.fromLink(link('echo'), [{ type: 'send', id: '1.1', data: 'one' }]);
  s.delivery.fromLink(link('echo'), []);
  expect(s.corkedBatches).toEqual([]);
  s.delivery.fromLink(link('echo'), [{ type: 'send', id: '1.1', data: 'x' }, { type: 'send', id: '1.1', data: 'y' }]);
  expect(s.corkedBatches).toEqual([1]);
  // A fan-out sends the payload's bytes (framed once), a send its string.
  expect(a.socket.sent).toEqual([[Buffer.from('all'), false], ['one', false], ['x', false], ['y', false]]);
  expect(b.socket.sent).toEqual([[Buffer.from('all'), false]]);
});

test('a service addressing clients not its own: every message dropped and counted, one warning line for the flood', () => {
  const s = setup();
  const mine = s.client('1.1', 'echo');
  const theirs = s.client('1.2', 'chat');
  const batch: ServiceToWorker[] = [];
  for (let i = 0; i < 500; i++) {
    // Another worker's client, another service's client here, and one being closed.
    batch.push({ type: 'send', id: `2.${i}`, data: 'x' }, { type: 'send', id: '1.2', data: 'x' }, { type: 'closeClient', id: '1.2', code: 1000, reason: '' });
  }
  s.delivery.fromLink(link('echo'), batch);
  expect(s.routing.get('foreignAddressDrops')).toBe(1500);
  expect(s.received).toEqual({ send: 1000, closeClient: 500 });
  expect(theirs.socket.sent).toEqual([]);
  expect(theirs.socket.closes).toEqual([]);
  expect(mine.socket.sent).toEqual([]);
  const warnings = s.logger.warnings(FOREIGN_WARNING);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ service: 'echo', client: '2.0' });
});

test('a client of this worker already gone is a benign race: counted apart, never warned about', () => {
  const s = setup();
  for (let i = 0; i < 50; i++) s.delivery.fromLink(link('echo'), [{ type: 'send', id: '1.9', data: 'late' }]);
  for (let i = 0; i < 10; i++) s.delivery.fromLink(link('echo'), [{ type: 'subscribe', id: '1.9', topic: 't' }, { type: 'unsubscribe', id: '1.9', topic: 't' }]);
  expect(s.routing.counters(0)).toEqual({ goneClientDrops: 70, foreignAddressDrops: 0, serviceQueueFull: 0, requestsRefused: 0, linkQueueFull: 0 });
  expect(s.logger.lines.filter((line) => line.level >= 40)).toEqual([]);
});

test('subscribes to an id this worker never handed out are foreign, not gone clients', () => {
  const s = setup();
  // Names this worker, but past every id it issued (a made-up id): never this service's client.
  for (let i = 0; i < 20; i++) {
    s.delivery.fromLink(link('echo'), [
      { type: 'subscribe', id: '1.zz', topic: 't' },
      { type: 'unsubscribe', id: '1.zz', topic: 't' },
    ]);
  }
  expect(s.routing.counters(0)).toEqual({ goneClientDrops: 0, foreignAddressDrops: 40, serviceQueueFull: 0, requestsRefused: 0, linkQueueFull: 0 });
  expect([...s.clients.subscribers('echo', 't')]).toEqual([]);
  expect(s.logger.warnings(FOREIGN_WARNING)).toHaveLength(1);
});

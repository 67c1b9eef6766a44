/**
 * The replies a batch of client messages earns and the acks of those
 * messages leave on one link write: one wakeup of the worker instead of two
 * (a reply batch, then an ack batch) for each batch an instance handles.
 * Over a real Unix socket: the service's link server and host in this
 * process, the worker's end a line peer.
 */
import pino from 'pino';
import type { IpcLimits } from '../../src/child-env';
import type { ClientInfo } from '../../src/protocol';
import type { Client } from '../../src/services/client';
import EchoService from '../../src/services/examples/echo';
import { LinkServer } from '../../src/services/link-server';
import { Service } from '../../src/services/service';
import { ServiceHost } from '../../src/services/service-host';
import { LinePeer, SocketDir, TEST_LINK_KEY, helloFor } from '../helpers/line-peer';

const silent = pino({ level: 'silent' });
const LIMITS: IpcLimits = { maxMessages: 100, maxBytes: 1 << 20 };
const info = (id: string): ClientInfo => ({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' });

let sockets: SocketDir;
let server: LinkServer | undefined;
let peer: LinePeer | undefined;

beforeEach(() => {
  sockets = new SocketDir();
});

afterEach(async () => {
  await peer?.destroy();
  server?.stopListening();
  server = undefined;
  peer = undefined;
  await sockets.close();
});

/** A service instance's link server and host, linked to worker 1 (the line peer): its lines after the connect's ack. */
async function linked(service: Service): Promise<LinePeer> {
  let host: ServiceHost | undefined;
  const links = new LinkServer(LIMITS, silent, {
    onBatch: (worker, messages) => {
      for (const message of messages) host?.fromWorker(worker, message);
    },
    onClosed: (worker) => host?.workerGone(worker),
  });
  server = links;
  host = new ServiceHost(service, 'echo', {
    toMaster: () => undefined,
    toWorker: (worker, message) => links.send(worker, message),
    workers: () => links.workers(),
    drained: () => links.drained(),
    linksClosed: () => links.allClosed(),
    stopListening: () => links.stopListening(),
  }, silent);
  links.fromMaster({ type: 'linkKey', key: TEST_LINK_KEY, workers: [1] });
  const endpoint = sockets.path('service');
  await links.listen(endpoint);
  const worker = new LinePeer(await sockets.connect(endpoint));
  peer = worker;
  worker.send([helloFor(1), { type: 'connect', client: info('1.1'), seq: 1 }]);
  await worker.until(() => worker.lines.length === 1);
  expect(worker.lines).toEqual([[{ type: 'ack', seqs: [1] }]]);
  worker.lines.length = 0;
  return worker;
}

test('a batch of messages whose handlers settle at once: the replies and their acks leave in one write, acks after the replies', async () => {
  const worker = await linked(new EchoService());
  worker.send([1, 2, 3].map((n) => ({ type: 'message', id: '1.1', seq: n + 1, data: `m${n}` })));
  await worker.until(() => worker.messages.some((message) => message.type === 'ack'));
  await worker.expectNothingWithin(30);
  expect(worker.lines).toEqual([
    [
      { type: 'send', id: '1.1', data: 'm1' },
      { type: 'send', id: '1.1', data: 'm2' },
      { type: 'send', id: '1.1', data: 'm3' },
      { type: 'ack', seqs: [2, 3, 4] },
    ],
  ]);
});

test('a handler that settles later: its reply still precedes its ack, which leaves once it settled', async () => {
  let release: (() => void) | undefined;
  class Later extends Service {
    override async onMessage(client: Client, data: string | Buffer): Promise<void> {
      await new Promise<void>((resolve) => (release = resolve));
      this.send(client.id, data);
    }
  }
  const worker = await linked(new Later());
  worker.send([{ type: 'message', id: '1.1', seq: 2, data: 'late' }]);
  // Nothing is due while the handler runs: no reply, no ack (and no empty ack).
  await worker.expectNothingWithin(30);
  release?.();
  await worker.until(() => worker.messages.some((message) => message.type === 'ack'));
  expect(worker.messages).toEqual([{ type: 'send', id: '1.1', data: 'late' }, { type: 'ack', seqs: [2] }]);
});

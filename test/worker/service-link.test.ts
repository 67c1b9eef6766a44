import pino from 'pino';
import type { IpcLimits } from '../../src/child-env';
import type { ClientInfo, ServiceToWorker } from '../../src/protocol';
import { ServiceLink } from '../../src/worker/service-link';
import { SocketDir, Waiter, pause, poll, type LinePeer, type LineServer } from '../helpers/line-peer';

const silent = pino({ level: 'silent' });
const info = (id: string): ClientInfo => ({ id, service: 'echo', path: '/echo', query: {}, headers: {}, remoteAddress: '127.0.0.1' });
const LIMITS: IpcLimits = { maxMessages: 100, maxBytes: 1 << 20 };

let sockets: SocketDir;
const links: ServiceLink[] = [];

beforeEach(() => {
  sockets = new SocketDir();
});

afterEach(async () => {
  for (const link of links.splice(0)) link.end();
  await sockets.close();
});

/** A link of worker 1 to service `echo`, with what its hooks saw. */
function link(limits: IpcLimits = LIMITS): { link: ServiceLink; batches: ServiceToWorker[][]; fresh: number[]; waiter: Waiter } {
  const batches: ServiceToWorker[][] = [];
  const fresh: number[] = [];
  const waiter = new Waiter();
  const created = new ServiceLink('echo', 1, limits, silent, {
    onBatch: (from, batch) => {
      expect(from).toBe(created);
      batches.push([...batch]);
      waiter.notify();
    },
    onFreshInstance: (from) => {
      expect(from).toBe(created);
      fresh.push(Date.now());
      waiter.notify();
    },
  });
  links.push(created);
  return { link: created, batches, fresh, waiter };
}

/** Instance `server` accepts the link's connection, and the link has said hello. */
async function up(server: LineServer, index: number, subject: ServiceLink): Promise<LinePeer> {
  const peer = await server.peer(index);
  await peer.untilMessages(1);
  expect(peer.messages[0]).toEqual({ type: 'hello', worker: 1 });
  expect(subject.state).toBe('up');
  return peer;
}

test('hello goes first on a new connection, then the events in the order they happened', async () => {
  const { link: l, fresh } = link();
  const a = await sockets.server('a');
  expect(l.available).toBe(false);
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  expect(l.available).toBe(true);
  expect(fresh).toHaveLength(1);
  expect(l.connect(info('1.1'))).toBe(true);
  expect(l.message('1.1', 'a', false, undefined)).toBe(true);
  expect(l.message('1.1', 'AQI=', true, 1234)).toBe(true);
  l.close('1.1', 1000, 'bye');
  await peer.untilMessages(5);
  expect(peer.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.1') },
    { type: 'message', id: '1.1', seq: 1, data: 'a' },
    { type: 'message', id: '1.1', seq: 2, data: 'AQI=', binary: true, ts: 1234 },
    { type: 'close', id: '1.1', code: 1000, reason: 'bye' },
  ]);
  // Sent in one turn: one batch line after the hello's.
  expect(peer.lines).toHaveLength(2);
  expect(l.heldCount).toBe(2);
});

test('events while the service is down are held and replayed in order once an instance is up', async () => {
  const { link: l, fresh } = link();
  expect(l.connect(info('1.1'))).toBe(true);
  expect(l.message('1.1', 'one', false, undefined)).toBe(true);
  expect(l.connect(info('1.2'))).toBe(true);
  expect(l.message('1.2', 'two', false, undefined)).toBe(true);
  l.close('1.1', 1001, 'away');
  expect(l.message('1.2', 'three', false, undefined)).toBe(true);
  expect(l.heldCount).toBe(3);
  // Requests are refused, not held.
  expect(l.request({ rid: '1.1', method: 'GET', path: '/', query: {}, headers: {}, data: '' })).toBe(false);
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  await peer.untilMessages(7);
  expect(fresh).toHaveLength(1);
  expect(peer.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.1') },
    { type: 'message', id: '1.1', seq: 1, data: 'one' },
    { type: 'connect', client: info('1.2') },
    { type: 'message', id: '1.2', seq: 2, data: 'two' },
    { type: 'close', id: '1.1', code: 1001, reason: 'away' },
    { type: 'message', id: '1.2', seq: 3, data: 'three' },
  ]);
  // Still unacknowledged: held until the service says it is done with them.
  expect(l.heldCount).toBe(3);
});

test('events while connecting are held too, and follow the hello', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  expect(l.state).toBe('connecting');
  l.connect(info('1.1'));
  l.message('1.1', 'early', false, undefined);
  const peer = await up(a, 0, l);
  await peer.untilMessages(3);
  expect(peer.messages.slice(1)).toEqual([
    { type: 'connect', client: info('1.1') },
    { type: 'message', id: '1.1', seq: 1, data: 'early' },
  ]);
});

test('a new instance gets every known client as a resumed connect, and no client that closed', async () => {
  const { link: l, fresh } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peerA = await up(a, 0, l);
  l.connect(info('1.1'));
  l.connect(info('1.2'));
  l.connect(info('1.3'));
  l.close('1.2', 1000, '');
  await peerA.untilMessages(5);
  await peerA.destroy();
  await l.drained();
  const b = await sockets.server('b');
  l.instanceUp(b.path);
  const peerB = await up(b, 0, l);
  await peerB.untilMessages(3);
  await pause(20);
  expect(peerB.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'connect', client: info('1.3'), resumed: true },
  ]);
  expect(fresh).toHaveLength(2);
  // New events follow on the new instance.
  l.message('1.3', 'after', false, undefined);
  await peerB.untilMessages(4);
  expect(peerB.messages[3]).toEqual({ type: 'message', id: '1.3', seq: 1, data: 'after' });
});

test('an unacknowledged message is redelivered, marked, to the next instance after the link to the first closed; acked ones are not', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peerA = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'handled', false, undefined);
  l.message('1.1', 'in flight', false, 99);
  l.message('1.1', 'also in flight', false, undefined);
  await peerA.untilMessages(5);
  expect(l.heldCount).toBe(3);
  peerA.send([{ type: 'ack', seqs: [1] }]);
  await poll(() => l.heldCount === 2);
  // Instance A dies.
  await a.close();
  const b = await sockets.server('b');
  l.instanceUp(b.path);
  const peerB = await up(b, 0, l);
  await peerB.untilMessages(4);
  await pause(20);
  expect(peerB.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 2, data: 'in flight', ts: 99, redelivered: true },
    { type: 'message', id: '1.1', seq: 3, data: 'also in flight', redelivered: true },
  ]);
  expect(l.heldCount).toBe(2);
});

test('redeliveries come after the resumed connects and before what was held while down', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peerA = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'sent to A', false, undefined);
  await peerA.untilMessages(3);
  await a.close();
  await waitForState(l, 'down');
  l.message('1.1', 'held', false, undefined);
  l.connect(info('1.2'));
  l.close('1.1', 1000, '');
  const b = await sockets.server('b');
  l.instanceUp(b.path);
  const peerB = await up(b, 0, l);
  await peerB.untilMessages(6);
  expect(peerB.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 1, data: 'sent to A', redelivered: true },
    { type: 'message', id: '1.1', seq: 2, data: 'held' },
    { type: 'connect', client: info('1.2') },
    { type: 'close', id: '1.1', code: 1000, reason: '' },
  ]);
});

test('after the instance said retired, what it did not acknowledge goes to the next one unmarked', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peerA = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'handled', false, undefined);
  l.message('1.1', 'never handled', false, undefined);
  await peerA.untilMessages(4);
  peerA.send([{ type: 'ack', seqs: [1] }, { type: 'retired' }]);
  await waitForState(l, 'down');
  // The retiring instance gets nothing more; new messages wait for the next one.
  l.message('1.1', 'while retiring', false, undefined);
  await pause(30);
  expect(peerA.messages).toHaveLength(4);
  expect(l.heldCount).toBe(2);
  // The next instance is announced before the old one's socket has closed: the link waits for it.
  const b = await sockets.server('b');
  l.instanceUp(b.path);
  await pause(30);
  expect(b.peers).toHaveLength(0);
  await peerA.destroy();
  const peerB = await up(b, 0, l);
  await peerB.untilMessages(4);
  await pause(20);
  expect(peerB.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 2, data: 'never handled' },
    { type: 'message', id: '1.1', seq: 3, data: 'while retiring' },
  ]);
});

test('a message left unhandled by a retired instance is marked again if the next one dies without acknowledging it', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peerA = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await peerA.untilMessages(3);
  peerA.send([{ type: 'retired' }]);
  await waitForState(l, 'down');
  await a.close();
  const b = await sockets.server('b');
  l.instanceUp(b.path);
  const peerB = await up(b, 0, l);
  await peerB.untilMessages(3);
  expect(peerB.messages[2]).toEqual({ type: 'message', id: '1.1', seq: 1, data: 'x' });
  await b.close();
  const c = await sockets.server('c');
  l.instanceUp(c.path);
  const peerC = await up(c, 0, l);
  await peerC.untilMessages(3);
  expect(peerC.messages[2]).toEqual({ type: 'message', id: '1.1', seq: 1, data: 'x', redelivered: true });
});

test('a broken link to an instance still announced is retried, and replays to it', async () => {
  const { link: l, fresh } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const first = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await first.untilMessages(3);
  await first.destroy();
  // The retry comes after a short delay, to the same endpoint.
  const second = await up(a, 1, l);
  await second.untilMessages(3);
  expect(second.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.1'), resumed: true },
    { type: 'message', id: '1.1', seq: 1, data: 'x', redelivered: true },
  ]);
  expect(fresh).toHaveLength(2);
});

test('the bound on unacknowledged messages refuses messages; acks make room again', async () => {
  const { link: l } = link({ maxMessages: 2, maxBytes: 1 << 20 });
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  l.connect(info('1.1'));
  expect(l.message('1.1', 'a', false, undefined)).toBe(true);
  expect(l.message('1.1', 'b', false, undefined)).toBe(true);
  expect(l.message('1.1', 'c', false, undefined)).toBe(false);
  expect(l.heldCount).toBe(2);
  await peer.untilMessages(4);
  peer.send([{ type: 'ack', seqs: [1] }]);
  await poll(() => l.heldCount === 1);
  expect(l.message('1.1', 'd', false, undefined)).toBe(true);
  expect(l.message('1.1', 'e', false, undefined)).toBe(false);
  await peer.untilMessages(5);
  // The refused message used no sequence number.
  expect(peer.messages.filter((m) => m.type === 'message').map((m) => [m.seq, m.data])).toEqual([[1, 'a'], [2, 'b'], [3, 'd']]);
});

test('the byte bound refuses messages too, also while the service is down', async () => {
  const { link: l } = link({ maxMessages: 100, maxBytes: 300 });
  l.connect(info('1.1'));
  expect(l.message('1.1', 'x'.repeat(100), false, undefined)).toBe(true);
  expect(l.message('1.1', 'x'.repeat(100), false, undefined)).toBe(false);
  expect(l.message('1.1', 'small', false, undefined)).toBe(true);
  expect(l.heldCount).toBe(2);
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  await peer.untilMessages(4);
  peer.send([{ type: 'ack', seqs: [1, 2, 77] }]);
  await poll(() => l.heldCount === 0);
  expect(l.message('1.1', 'x'.repeat(200), false, undefined)).toBe(true);
});

test('instanceFailed drops everything kept, refuses new events, and the next instance starts empty', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peerA = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await peerA.untilMessages(3);
  l.instanceFailed();
  expect(l.state).toBe('failed');
  expect(l.available).toBe(false);
  expect(l.heldCount).toBe(0);
  expect(l.connect(info('1.2'))).toBe(false);
  expect(l.message('1.1', 'y', false, undefined)).toBe(false);
  l.close('1.1', 1000, '');
  await peerA.until(() => peerA.isClosed);
  // No retry to a failed service.
  await pause(250);
  expect(a.peers).toHaveLength(1);
  const b = await sockets.server('b');
  l.instanceUp(b.path);
  const peerB = await up(b, 0, l);
  l.connect(info('1.3'));
  await peerB.untilMessages(2);
  await pause(20);
  expect(peerB.messages).toEqual([
    { type: 'hello', worker: 1 },
    { type: 'connect', client: info('1.3') },
  ]);
});

test('onBatch gets what the service sends except acks and retired, in order', async () => {
  const { link: l, batches, waiter } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'x', false, undefined);
  await peer.untilMessages(3);
  const send: ServiceToWorker = { type: 'send', id: '1.1', data: 'reply' };
  const subscribe: ServiceToWorker = { type: 'subscribe', id: '1.1', topic: 't' };
  const publish: ServiceToWorker = { type: 'publish', topic: 't', data: 'news', except: ['1.2'] };
  peer.send([send, { type: 'ack', seqs: [1] }, subscribe]);
  peer.send([{ type: 'ack', seqs: [] }]);
  peer.send([publish]);
  await waiter.until(() => batches.length === 2, () => JSON.stringify(batches));
  expect(batches).toEqual([[send, subscribe], [publish]]);
  expect(l.heldCount).toBe(0);
});

test('malformed messages from the service are counted and not passed on', async () => {
  const { link: l, batches, waiter } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  const good: ServiceToWorker = { type: 'send', id: '1.1', data: 'ok' };
  peer.send([{ type: 'send', id: '1.1' }, good, { type: 'bogus' }, 7]);
  peer.writeRaw('this is not json\n');
  peer.send({ type: 'send', id: '1.1', data: 'not in a batch' });
  peer.send([{ type: 'ack', seqs: ['1'] }]);
  peer.send([good]);
  await waiter.until(() => batches.length === 2, () => JSON.stringify(batches));
  expect(batches).toEqual([[good], [good]]);
  expect(l.rejectedMessages).toBe(6);
  expect(l.state).toBe('up');
});

test('end() lets what was queued reach the service, then ends the link for good', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  l.connect(info('1.1'));
  l.message('1.1', 'last words', false, undefined);
  l.close('1.1', 1001, 'worker stopping');
  l.end();
  await peer.until(() => peer.ended);
  expect(peer.messages.slice(1)).toEqual([
    { type: 'connect', client: info('1.1') },
    { type: 'message', id: '1.1', seq: 1, data: 'last words' },
    { type: 'close', id: '1.1', code: 1001, reason: 'worker stopping' },
  ]);
  await peer.destroy();
  // Ended for good: no retry, and no events taken.
  await pause(250);
  expect(a.peers).toHaveLength(1);
  expect(l.connect(info('1.2'))).toBe(false);
});

test('end() after drained() delivers everything too', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  l.connect(info('1.1'));
  await l.drained();
  l.end();
  await peer.until(() => peer.ended);
  expect(peer.messages).toHaveLength(2);
});

test('a request goes out while the service is up', async () => {
  const { link: l } = link();
  const a = await sockets.server('a');
  l.instanceUp(a.path);
  const peer = await up(a, 0, l);
  const fields = { rid: '1.5', method: 'POST', path: '/x', query: { a: 'b' }, headers: {}, data: 'body' };
  expect(l.request(fields)).toBe(true);
  await peer.untilMessages(2);
  expect(peer.messages[1]).toEqual({ type: 'request', ...fields });
  // Requests are not sequenced nor kept.
  expect(l.heldCount).toBe(0);
});


function waitForState(subject: ServiceLink, state: ServiceLink['state']): Promise<void> {
  return poll(() => subject.state === state);
}

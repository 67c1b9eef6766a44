import pino from 'pino';
import type { Client } from '../../src/services/client';
import { Service } from '../../src/services/service';
import { ServiceHost, type ServiceHostOptions } from '../../src/services/service-host';
import type { ClientInfo, ServiceToMaster, ServiceToWorker } from '../../src/protocol';
import { isSwitchyardError } from '../../src/errors';
import type { Logger } from '../../src/logger';

const silent = pino({ level: 'silent' });
const info = (id: string): ClientInfo => ({ id, service: 'test', path: '/test', query: {}, headers: {}, remoteAddress: '127.0.0.1' });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A host linked to one worker (id 1): what it sends to the master and to that worker lands in `sent`, in order. */
function host(service: Service, links = { open: true }, options?: ServiceHostOptions): { host: ServiceHost; sent: Array<ServiceToMaster | ServiceToWorker> } {
  const sent: Array<ServiceToMaster | ServiceToWorker> = [];
  const ports = {
    toMaster: (message: ServiceToMaster) => void sent.push(message),
    toWorker: (worker: number, message: ServiceToWorker) => worker === 1 && links.open && sent.push(message) > 0,
    workers: () => (links.open ? [1] : []),
    linksClosed: () => Promise.resolve(),
    drained: () => Promise.resolve(),
    stopListening: () => undefined,
  };
  return { host: new ServiceHost(service, 'test', ports, silent, options), sent };
}

/** The seqs acknowledged in `messages`, in the order the acks went out. */
function acksIn(messages: ReadonlyArray<ServiceToMaster | ServiceToWorker>): number[] {
  return messages.flatMap((m) => (m.type === 'ack' ? [...m.seqs] : []));
}

test('events of one client run in order, each waiting for the previous async handler', async () => {
  const log: string[] = [];
  const releases = new Map<string, () => void>();
  class Slow extends Service {
    override async onConnect(client: Client): Promise<void> {
      log.push(`connect ${client.id}`);
      await new Promise<void>((resolve) => releases.set(client.id, resolve));
      log.push(`connected ${client.id}`);
    }
    override onMessage(client: Client, data: string | Buffer): void {
      log.push(`message ${client.id} ${String(data)}`);
    }
    override onClose(client: Client, code: number): void {
      log.push(`close ${client.id} ${code}`);
    }
  }
  const { host: h, sent } = host(new Slow());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'a' });
  h.fromWorker(1, { type: 'connect', client: info('1.2'), seq: 3 });
  h.fromWorker(1, { type: 'message', seq: 4, id: '1.2', data: 'x' });
  h.fromWorker(1, { type: 'message', seq: 5, id: '1.1', data: 'b' });
  h.fromWorker(1, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 6 });
  await tick();
  // Client 1.2 is not held up by 1.1's pending onConnect.
  expect(log).toEqual(['connect 1.1', 'connect 1.2']);
  expect(acksIn(sent)).toEqual([]);
  releases.get('1.1')?.();
  releases.get('1.2')?.();
  await h.whenIdle();
  await tick();
  expect(log.filter((l) => l.includes('1.1'))).toEqual(['connect 1.1', 'connected 1.1', 'message 1.1 a', 'message 1.1 b', 'close 1.1 1000']);
  // Every event is acknowledged once its handler settled; those of one client in their order.
  expect([...acksIn(sent)].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(acksIn(sent).filter((seq) => [1, 2, 5, 6].includes(seq))).toEqual([1, 2, 5, 6]);
});

test('a handler that throws or rejects is counted and the service keeps serving', async () => {
  const seen: string[] = [];
  class Faulty extends Service {
    override onMessage(_client: Client, data: string | Buffer): Promise<void> | void {
      if (data === 'throw') throw new Error('sync');
      if (data === 'reject') return Promise.reject(new Error('async'));
      seen.push(String(data));
    }
  }
  const { host: h, sent } = host(new Faulty());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  ['throw', 'one', 'reject', 'two'].forEach((data, i) => h.fromWorker(1, { type: 'message', seq: i + 2, id: '1.1', data }));
  await h.whenIdle();
  await tick();
  expect(seen).toEqual(['one', 'two']);
  expect(h.stats.handlerErrors).toBe(2);
  // A failed handler has settled too: its event is acknowledged, not redelivered forever.
  expect(acksIn(sent)).toEqual([1, 2, 3, 4, 5]);
});

test('actions become protocol messages; clients are tracked; binary arrives as Buffer', async () => {
  let received: unknown;
  class Actor extends Service {
    override onMessage(client: Client, data: string | Buffer): void {
      received = data;
      this.send(client.id, { ok: true });
      this.send(client.id, Buffer.from([1, 2]));
      this.broadcast('all', { except: client.id });
      this.close(client.id, 4000, 'bye');
    }
  }
  const service = new Actor();
  const { host: h, sent } = host(service);
  h.fromWorker(1, { type: 'connect', client: info('1.1'), resumed: true });
  expect(service.clients.get('1.1')?.resumed).toBe(true);
  h.fromWorker(1, { type: 'message', seq: 5, id: '1.1', data: Buffer.from([1, 2]), binary: true });
  await h.whenIdle();
  expect(received).toEqual(Buffer.from([1, 2]));
  expect(sent).toEqual([
    { type: 'send', id: '1.1', data: '{"ok":true}' },
    { type: 'send', id: '1.1', data: Buffer.from([1, 2]), binary: true },
    { type: 'broadcast', except: ['1.1'], data: 'all' },
    { type: 'closeClient', id: '1.1', code: 4000, reason: 'bye' },
  ]);
  h.fromWorker(1, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 6 });
  expect(service.clients.has('1.1')).toBe(false);
  expect(service.send('1.1', 'late')).toBe(false);
  await tick();
  // The resumed connect carried no seq: only the message and the close are acknowledged.
  expect(sent.slice(4)).toEqual([{ type: 'ack', seqs: [5, 6] }]);
});

test('caller bugs throw at once with a typed error', () => {
  class Plain extends Service {}
  const detached = new Plain();
  expect(() => detached.send('1.1', 'x')).toThrow(expect.objectContaining({ code: 'SY_ERR_SERVICE_NOT_ATTACHED' }));
  const service = new Plain();
  const { host: h } = host(service);
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  for (const bad of [() => service.close('1.1', 1005), () => service.close('1.1', 2000), () => service.close('1.1', 1000, 'x'.repeat(124))]) {
    let caught: unknown;
    try {
      bad();
    } catch (error) {
      caught = error;
    }
    expect(isSwitchyardError(caught, 'SY_ERR_INVALID_ARGUMENT')).toBe(true);
  }
});

test('stop waits for running handlers, then runs onStop, then reports stopped', async () => {
  const order: string[] = [];
  let release!: () => void;
  class Stopper extends Service {
    override async onMessage(): Promise<void> {
      await new Promise<void>((resolve) => (release = resolve));
      order.push('message done');
    }
    override onStop(): void {
      order.push('onStop');
    }
  }
  const { host: h, sent } = host(new Stopper());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'x' });
  const stopped = h.stop();
  await tick();
  expect(order).toEqual([]);
  release();
  await stopped;
  expect(order).toEqual(['message done', 'onStop']);
  expect(sent.at(-1)).toEqual({ type: 'stopped' });
  await tick();
  expect(acksIn(sent)).toEqual([1, 2]);
});

test('events for unknown clients are ignored, counted and acknowledged at once', async () => {
  const seen: string[] = [];
  class Plain extends Service {
    override onMessage(client: Client): void {
      seen.push(`message ${client.id}`);
    }
    override onClose(client: Client): void {
      seen.push(`close ${client.id}`);
    }
  }
  const { host: h, sent } = host(new Plain());
  h.fromWorker(1, { type: 'message', seq: 7, id: '1.9', data: 'x' });
  h.fromWorker(1, { type: 'closed', id: '1.9', code: 1000, reason: '', seq: 8 });
  expect(h.stats.unknownClientEvents).toBe(2);
  await tick();
  expect(seen).toEqual([]);
  expect(sent).toEqual([{ type: 'ack', seqs: [7, 8] }]);
});

test('a message is acknowledged once its handler has settled, not before; redelivery is marked', async () => {
  const releases: Array<() => void> = [];
  const infos: unknown[] = [];
  class Slow extends Service {
    override onMessage(_client: Client, _data: string | Buffer, info: { seq: number; redelivered: boolean }): Promise<void> {
      infos.push(info);
      return new Promise<void>((resolve) => releases.push(resolve));
    }
  }
  const { host: h, sent } = host(new Slow());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 9 });
  h.fromWorker(1, { type: 'message', seq: 10, id: '1.1', data: 'a' });
  h.fromWorker(1, { type: 'message', seq: 11, id: '1.1', data: 'b', redelivered: true });
  h.fromWorker(1, { type: 'message', seq: 12, id: '1.7', data: 'for a client that left' });
  await tick();
  const acks = (): number[] => acksIn(sent);
  // The (synchronous) onConnect has settled; the unknown client's message is done at once; the others wait for their handlers.
  expect(acks()).toEqual([9, 12]);
  releases[0]?.();
  await tick();
  await tick();
  expect(acks()).toEqual([9, 12, 10]);
  releases[1]?.();
  await h.whenIdle();
  await tick();
  expect(acks()).toEqual([9, 12, 10, 11]);
  expect(infos).toEqual([{ seq: 10, redelivered: false }, { seq: 11, redelivered: true }]);
});

test('an envelope result JSON cannot hold is answered with an error, not silence', async () => {
  class Circular extends Service {
    override onRequest(): unknown {
      const loop: Record<string, unknown> = {};
      loop.self = loop;
      return loop;
    }
  }
  const { host: h, sent } = host(new Circular());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: '{"$req":5,"data":null}' });
  await h.whenIdle();
  const replies = sent.filter((m) => m.type === 'send').map((m) => JSON.parse((m as { data: string }).data));
  expect(replies).toEqual([{ $res: 5, error: { code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' } }]);
  expect(h.stats.handlerErrors).toBe(1);
});

test('publish counts each excepted subscriber once', () => {
  class Plain extends Service {}
  const service = new Plain();
  const { host: h, sent } = host(service);
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'connect', client: info('1.2'), seq: 2 });
  service.subscribe('1.1', 't');
  service.subscribe('1.2', 't');
  expect(service.publish('t', 'x', { except: ['1.1', '1.1'] })).toBe(1);
  expect(sent.filter((m) => m.type === 'publish')).toHaveLength(1);
});

/**
 * A host linked to workers 1 and 2: what it sends lands in `sent` as
 * `[worker, message]` (or `['master', message]`), in order. `links.closed()`
 * settles the promise `linksClosed()` returns.
 */
function linkedHost(service: Service, workers: number[] = [1, 2]): {
  host: ServiceHost;
  sent: Array<[number | 'master', ServiceToMaster | ServiceToWorker]>;
  toWorker: (worker: number) => ServiceToWorker[];
  links: { closed: () => void; stoppedListening: boolean };
} {
  const sent: Array<[number | 'master', ServiceToMaster | ServiceToWorker]> = [];
  let closed!: () => void;
  const linksClosed = new Promise<void>((resolve) => (closed = resolve));
  const links = { closed, stoppedListening: false };
  const ports = {
    toMaster: (message: ServiceToMaster) => void sent.push(['master', message]),
    toWorker: (worker: number, message: ServiceToWorker) => workers.includes(worker) && sent.push([worker, message]) > 0,
    workers: () => workers,
    linksClosed: () => linksClosed,
    drained: () => Promise.resolve(),
    stopListening: () => void (links.stoppedListening = true),
  };
  const toWorker = (worker: number): ServiceToWorker[] => sent.filter(([to]) => to === worker).map(([, message]) => message as ServiceToWorker);
  return { host: new ServiceHost(service, 'test', ports, silent), sent, toWorker, links };
}

describe('stop', () => {
  test("'retire' ignores link input once it began, waits for running handlers, runs onStop, then sends acks, retired to each worker, and stopped", async () => {
    const log: string[] = [];
    let release!: () => void;
    class Retiring extends Service {
      override onConnect(client: Client): void {
        log.push(`connect ${client.id}`);
      }
      override async onMessage(client: Client, data: string | Buffer): Promise<void> {
        log.push(`message ${client.id} ${String(data)}`);
        if (data === 'slow') await new Promise<void>((resolve) => (release = resolve));
        log.push(`done ${client.id} ${String(data)}`);
      }
      override onClose(client: Client): void {
        log.push(`close ${client.id}`);
      }
      override onStop(): void {
        log.push('onStop');
      }
    }
    const { host: h, sent, links } = linkedHost(new Retiring());
    h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
    h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'slow' });
    // Received before the stop: waits behind the slow one, and is still handled.
    h.fromWorker(1, { type: 'message', seq: 3, id: '1.1', data: 'queued' });
    await tick();
    expect(sent).toEqual([[1, { type: 'ack', seqs: [1] }]]);
    sent.length = 0;
    const stopped = h.stop('retire');
    expect(links.stoppedListening).toBe(true);
    // Neither handled nor acknowledged, not even what would be acknowledged at once (an unknown
    // client's close, a foreign connect): the worker replays it all to the next instance.
    h.fromWorker(1, { type: 'message', seq: 4, id: '1.1', data: 'late' });
    h.fromWorker(2, { type: 'connect', client: info('2.1'), seq: 1 });
    h.fromWorker(1, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 5 });
    h.fromWorker(1, { type: 'closed', id: '1.9', code: 1000, reason: '', seq: 6 });
    h.fromWorker(1, { type: 'connect', client: info('2.2'), seq: 7 });
    await tick();
    expect(log).toEqual(['connect 1.1', 'message 1.1 slow']);
    expect(sent).toEqual([]);
    release();
    await stopped;
    expect(log).toEqual(['connect 1.1', 'message 1.1 slow', 'done 1.1 slow', 'message 1.1 queued', 'done 1.1 queued', 'onStop']);
    // The acks leave before `retired`, which says that everything else was never handled.
    expect(sent).toEqual([
      [1, { type: 'ack', seqs: [2, 3] }],
      [1, { type: 'retired' }],
      [2, { type: 'retired' }],
      ['master', { type: 'stopped' }],
    ]);
    await tick();
    expect(sent).toHaveLength(4);
    expect(h.stats.unknownClientEvents).toBe(0);
  });

  test("'shutdown' keeps handling link input and runs onStop only once every link has closed", async () => {
    const log: string[] = [];
    class Closing extends Service {
      override onMessage(client: Client, data: string | Buffer): void {
        log.push(`message ${client.id} ${String(data)}`);
      }
      override onClose(client: Client, code: number): void {
        log.push(`close ${client.id} ${code}`);
      }
      override onStop(): void {
        log.push('onStop');
      }
    }
    const { host: h, sent, links, toWorker } = linkedHost(new Closing());
    h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
    h.fromWorker(2, { type: 'connect', client: info('2.1'), seq: 1 });
    const stopped = h.stop('shutdown');
    expect(links.stoppedListening).toBe(true);
    h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'last' });
    h.fromWorker(1, { type: 'closed', id: '1.1', code: 1001, reason: 'going away', seq: 3 });
    await tick();
    await tick();
    expect(log).toEqual(['message 1.1 last', 'close 1.1 1001']);
    // Handled, so acknowledged, as usual.
    expect(toWorker(1).flatMap((m) => (m.type === 'ack' ? [...m.seqs] : []))).toEqual([1, 2, 3]);
    expect(sent.some(([, m]) => m.type === 'stopped')).toBe(false);
    h.workerGone(2);
    links.closed();
    await stopped;
    expect(log).toEqual(['message 1.1 last', 'close 1.1 1001', 'close 2.1 1006', 'onStop']);
    expect(sent.map(([, m]) => m.type)).not.toContain('retired');
    expect(sent.at(-1)).toEqual(['master', { type: 'stopped' }]);
  });

  test('a second stop does nothing', async () => {
    let stops = 0;
    class Counting extends Service {
      override onStop(): void {
        stops++;
      }
    }
    const { host: h, sent } = linkedHost(new Counting());
    await h.stop('retire');
    await h.stop('retire');
    await h.stop('shutdown');
    expect(stops).toBe(1);
    expect(sent.filter(([, m]) => m.type === 'stopped')).toHaveLength(1);
  });
});

test('workerGone closes exactly the clients of that worker, with 1006', async () => {
  const closes: Array<[string, number, string]> = [];
  class Watcher extends Service {
    override onClose(client: Client, code: number, reason: string): void {
      closes.push([client.id, code, reason]);
    }
  }
  const service = new Watcher();
  const { host: h } = linkedHost(service, [1, 2, 11]);
  for (const [worker, id, seq] of [[1, '1.1', 1], [2, '2.1', 1], [1, '1.2', 2], [11, 'b.1', 1]] as const) h.fromWorker(worker, { type: 'connect', client: info(id), seq });
  h.workerGone(1);
  await h.whenIdle();
  expect(closes.sort()).toEqual([['1.1', 1006, 'worker exited'], ['1.2', 1006, 'worker exited']]);
  expect([...service.clients.keys()].sort()).toEqual(['2.1', 'b.1']);
  h.workerGone(1);
  h.workerGone(3);
  await h.whenIdle();
  expect(closes).toHaveLength(2);
  expect(h.stats.unknownClientEvents).toBe(0);
});

test('workerGone in the turn a handler settled still sends its ack (a dropped remote link keeps its queue for the next hello)', async () => {
  class Quiet extends Service {}
  const { host: h, sent } = host(new Quiet());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'a' });
  await h.whenIdle();
  // The handlers settled; their acks wait for the end of the turn.
  expect(acksIn(sent)).toEqual([]);
  h.workerGone(1);
  expect(acksIn(sent)).toEqual([1, 2]);
  await tick();
  expect(acksIn(sent)).toEqual([1, 2]);
});

test('a connect whose id names another worker (or no worker) is ignored, counted and acknowledged at once', async () => {
  const connected: string[] = [];
  class Plain extends Service {
    override onConnect(client: Client): void {
      connected.push(client.id);
    }
  }
  const service = new Plain();
  const { host: h, toWorker } = linkedHost(service);
  h.fromWorker(1, { type: 'connect', client: info('2.1'), seq: 1 });
  h.fromWorker(1, { type: 'connect', client: info('not-an-id'), seq: 2 });
  h.fromWorker(2, { type: 'connect', client: info('2.1'), seq: 1 });
  expect(connected).toEqual(['2.1']);
  expect(h.stats.unknownClientEvents).toBe(2);
  expect([...service.clients.keys()]).toEqual(['2.1']);
  await tick();
  expect(toWorker(1)).toEqual([{ type: 'ack', seqs: [1, 2] }]);
  expect(toWorker(2)).toEqual([{ type: 'ack', seqs: [1] }]);
});

test('publish goes once to each worker holding a subscriber, and nowhere for a topic without one', () => {
  class Plain extends Service {}
  const service = new Plain();
  const { host: h, sent, toWorker } = linkedHost(service);
  h.fromWorker(1, { type: 'connect', client: info('1.x'), seq: 1 });
  h.fromWorker(2, { type: 'connect', client: info('2.x'), seq: 1 });
  h.fromWorker(2, { type: 'connect', client: info('2.y'), seq: 2 });
  service.subscribe('2.x', 'news');
  service.subscribe('2.y', 'news');
  service.subscribe('1.x', 'sport');
  const publishes = (): Array<[number | 'master', string]> => sent.filter(([, m]) => m.type === 'publish').map(([to, m]) => [to, (m as { topic: string }).topic]);
  expect(service.publish('news', 'n1')).toBe(2);
  expect(publishes()).toEqual([[2, 'news']]);
  sent.length = 0;
  expect(service.publish('nobody', 'x')).toBe(0);
  expect(sent).toEqual([]);
  service.subscribe('1.x', 'news');
  service.publish('news', 'n2', { except: '2.x' });
  const message = { type: 'publish', topic: 'news', except: ['2.x'], data: 'n2' };
  expect(sent.filter(([, m]) => m.type === 'publish').sort()).toEqual([[1, message], [2, message]]);
  sent.length = 0;
  // Worker 2 keeps its interest until its last subscriber goes.
  service.unsubscribe('2.x', 'news');
  service.publish('news', 'n3');
  expect(publishes().sort()).toEqual([[1, 'news'], [2, 'news']]);
  sent.length = 0;
  h.fromWorker(2, { type: 'closed', id: '2.y', code: 1000, reason: '', seq: 3 });
  service.publish('news', 'n4');
  expect(publishes()).toEqual([[1, 'news']]);
  sent.length = 0;
  h.workerGone(1);
  expect(service.publish('news', 'n5')).toBe(0);
  expect(service.publish('sport', 's1')).toBe(0);
  // (Only the ack of the close above, handed to worker 1's link as it went.)
  expect(sent.filter(([, m]) => m.type !== 'ack')).toEqual([]);
  expect(toWorker(1).filter((m) => m.type === 'publish')).toEqual([]);
});

test('subscribe and unsubscribe messages go to the worker holding the client', () => {
  class Plain extends Service {}
  const service = new Plain();
  const { host: h, sent } = linkedHost(service);
  h.fromWorker(1, { type: 'connect', client: info('1.x'), seq: 1 });
  h.fromWorker(2, { type: 'connect', client: info('2.x'), seq: 1 });
  service.subscribe('2.x', 't');
  service.subscribe('1.x', 't');
  service.unsubscribe('2.x', 't');
  // Already subscribed / not subscribed: nothing to tell.
  service.subscribe('1.x', 't');
  service.unsubscribe('2.x', 't');
  expect(sent).toEqual([
    [2, { type: 'subscribe', id: '2.x', topic: 't' }],
    [1, { type: 'subscribe', id: '1.x', topic: 't' }],
    [2, { type: 'unsubscribe', id: '2.x', topic: 't' }],
  ]);
});

test('a client resumed while its previous close still waits for a running handler keeps its order and its lane', async () => {
  const log: string[] = [];
  let release!: () => void;
  class Slow extends Service {
    override onConnect(client: Client): void {
      log.push(`connect ${client.id}${client.resumed ? ' resumed' : ''}`);
    }
    override async onMessage(client: Client, data: string | Buffer): Promise<void> {
      log.push(`message ${client.id} ${String(data)}`);
      if (data === 'slow') await new Promise<void>((resolve) => (release = resolve));
    }
    override onClose(client: Client, code: number): void {
      log.push(`close ${client.id} ${code}`);
    }
  }
  const { host: h, toWorker } = linkedHost(new Slow());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'slow' });
  // The link to worker 1 broke and came back (a retry to the same instance): the client is resumed.
  h.workerGone(1);
  h.fromWorker(1, { type: 'connect', client: info('1.1'), resumed: true });
  h.fromWorker(1, { type: 'message', seq: 3, id: '1.1', data: 'after resume' });
  await tick();
  expect(log).toEqual(['connect 1.1', 'message 1.1 slow']);
  release();
  await h.whenIdle();
  h.fromWorker(1, { type: 'message', seq: 4, id: '1.1', data: 'later' });
  await h.whenIdle();
  await tick();
  expect(log).toEqual(['connect 1.1', 'message 1.1 slow', 'close 1.1 1006', 'connect 1.1 resumed', 'message 1.1 after resume', 'message 1.1 later']);
  const acked = toWorker(1).flatMap((m) => (m.type === 'ack' ? [...m.seqs] : []));
  // The connect's ack had not left when the link went: it is handed to the link as it goes (a closed local
  // link drops it, and the worker replays what it did not see acknowledged; a remote worker's link kept
  // across a drop delivers it). The close of workerGone and the resumed connect carry no seq.
  expect(acked).toEqual([1, 2, 3, 4]);
  expect(h.stats.unknownClientEvents).toBe(0);
});

test('a connect is acknowledged only once its async onConnect has settled (resolved or rejected), a close only once its onClose has', async () => {
  const log: string[] = [];
  const releases = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const pending = (key: string): Promise<void> => new Promise<void>((resolve, reject) => releases.set(key, { resolve, reject }));
  class Slow extends Service {
    override async onConnect(client: Client): Promise<void> {
      log.push(`connect ${client.id}`);
      await pending(`connect ${client.id}`);
    }
    override onMessage(client: Client, data: string | Buffer): void {
      log.push(`message ${client.id} ${String(data)}`);
    }
    override async onClose(client: Client, code: number): Promise<void> {
      log.push(`close ${client.id} ${code}`);
      await pending(`close ${client.id}`);
    }
  }
  const { host: h, toWorker } = linkedHost(new Slow());
  const acks = (): number[] => toWorker(1).flatMap((m) => (m.type === 'ack' ? [...m.seqs] : []));
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'hi' });
  h.fromWorker(1, { type: 'connect', client: info('1.2'), seq: 3 });
  await tick();
  await tick();
  expect(log).toEqual(['connect 1.1', 'connect 1.2']);
  expect(acks()).toEqual([]);
  releases.get('connect 1.1')?.resolve();
  await tick();
  await tick();
  expect(log).toEqual(['connect 1.1', 'connect 1.2', 'message 1.1 hi']);
  expect(acks()).toEqual([1, 2]);
  // A rejected onConnect has settled too.
  releases.get('connect 1.2')?.reject(new Error('no'));
  await tick();
  await tick();
  expect(acks()).toEqual([1, 2, 3]);
  expect(h.stats.handlerErrors).toBe(1);
  h.fromWorker(1, { type: 'closed', id: '1.1', code: 1001, reason: 'away', seq: 4 });
  await tick();
  await tick();
  expect(log.at(-1)).toBe('close 1.1 1001');
  expect(acks()).toEqual([1, 2, 3]);
  releases.get('close 1.1')?.resolve();
  await h.whenIdle();
  await tick();
  expect(acks()).toEqual([1, 2, 3, 4]);
});

test('a duplicate connect is acknowledged at once, without waiting for the first; a resumed connect has nothing to acknowledge', async () => {
  const log: string[] = [];
  let release!: () => void;
  class Slow extends Service {
    override async onConnect(client: Client): Promise<void> {
      log.push(`connect ${client.id}${client.resumed ? ' resumed' : ''}`);
      if (client.id === '1.1') await new Promise<void>((resolve) => (release = resolve));
    }
  }
  const { host: h, toWorker } = linkedHost(new Slow());
  const acks = (): number[] => toWorker(1).flatMap((m) => (m.type === 'ack' ? [...m.seqs] : []));
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 2 });
  h.fromWorker(1, { type: 'connect', client: info('1.2'), resumed: true });
  await tick();
  expect(log).toEqual(['connect 1.1', 'connect 1.2 resumed']);
  expect(acks()).toEqual([2]);
  expect(h.stats.unknownClientEvents).toBe(1);
  release();
  await h.whenIdle();
  await tick();
  expect(acks()).toEqual([2, 1]);
  // The resumed connect's onConnect ran, and sent no ack (it has no seq): worker 1 got just these.
  expect(toWorker(1)).toEqual([{ type: 'ack', seqs: [2] }, { type: 'ack', seqs: [1] }]);
});

test('while retiring, a request is answered at once with 503 and reaches no handler; nothing else from the links is handled or acknowledged', async () => {
  const log: string[] = [];
  let release!: () => void;
  class Retiring extends Service {
    override onConnect(client: Client): void {
      log.push(`connect ${client.id}`);
    }
    override async onMessage(client: Client, data: string | Buffer): Promise<void> {
      log.push(`message ${client.id} ${String(data)}`);
      if (data === 'slow') await new Promise<void>((resolve) => (release = resolve));
    }
    override onClose(client: Client): void {
      log.push(`close ${client.id}`);
    }
    override onRequest(): unknown {
      log.push('request');
      return 'handled';
    }
  }
  const { host: h, sent } = linkedHost(new Retiring());
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: 'slow' });
  await tick();
  sent.length = 0;
  const stopped = h.stop('retire');
  const request = { rid: '2.7', method: 'GET', path: '/x', query: {}, headers: {}, data: '' };
  h.fromWorker(2, { type: 'request', ...request });
  // At once: not after the running handler, not on a later turn.
  expect(sent).toEqual([
    [
      2,
      {
        type: 'response',
        rid: '2.7',
        status: 503,
        headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' },
        data: expect.any(String),
      },
    ],
  ]);
  const [, response] = sent[0] as [number, { data: string }];
  expect(JSON.parse(response.data)).toEqual({ error: 'SY_ERR_SERVICE_UNAVAILABLE', message: expect.stringContaining('"test"') });
  h.fromWorker(1, { type: 'connect', client: info('1.2'), seq: 3 });
  h.fromWorker(1, { type: 'message', seq: 4, id: '1.1', data: 'late' });
  h.fromWorker(1, { type: 'message', seq: 5, id: '1.2', data: 'late' });
  h.fromWorker(1, { type: 'closed', id: '1.2', code: 1000, reason: '', seq: 6 });
  h.fromWorker(1, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 7 });
  await tick();
  await tick();
  expect(sent).toHaveLength(1);
  release();
  await stopped;
  expect(log).toEqual(['connect 1.1', 'message 1.1 slow']);
  // Only the message that ran before the stop is acknowledged; everything after it the worker replays.
  expect(sent.slice(1)).toEqual([
    [1, { type: 'ack', seqs: [2] }],
    [1, { type: 'retired' }],
    [2, { type: 'retired' }],
    ['master', { type: 'stopped' }],
  ]);
  // Still refused once stopped.
  h.fromWorker(1, { type: 'request', ...request, rid: '1.8' });
  expect(sent.at(-1)).toEqual([1, expect.objectContaining({ type: 'response', rid: '1.8', status: 503 })]);
  await tick();
  expect(log).toEqual(['connect 1.1', 'message 1.1 slow']);
  expect(h.stats.unknownClientEvents).toBe(0);
});

test('a message or close naming a client of another worker is ignored, counted and acknowledged', async () => {
  const log: string[] = [];
  class Watcher extends Service {
    override onConnect(client: Client): void {
      log.push(`connect ${client.id}`);
    }
    override onMessage(client: Client, data: string | Buffer): void {
      log.push(`message ${client.id} ${String(data)}`);
    }
    override onClose(client: Client, code: number): void {
      log.push(`close ${client.id} ${code}`);
    }
  }
  const service = new Watcher();
  const { host: h, toWorker } = linkedHost(service);
  const acks = (worker: number): number[] => toWorker(worker).flatMap((m) => (m.type === 'ack' ? [...m.seqs] : []));
  h.fromWorker(2, { type: 'connect', client: info('2.1'), seq: 1 });
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  // Worker 1's link names worker 2's client: a broken or hostile peer.
  h.fromWorker(1, { type: 'message', seq: 2, id: '2.1', data: 'spoofed' });
  h.fromWorker(1, { type: 'closed', id: '2.1', code: 1000, reason: 'spoofed', seq: 3 });
  h.fromWorker(1, { type: 'closed', id: 'not-an-id', code: 1000, reason: '', seq: 4 });
  await h.whenIdle();
  await tick();
  expect(log).toEqual(['connect 2.1', 'connect 1.1']);
  expect(h.stats.unknownClientEvents).toBe(3);
  expect([...service.clients.keys()].sort()).toEqual(['1.1', '2.1']);
  expect(acks(1)).toEqual([1, 2, 3, 4]);
  expect(acks(2)).toEqual([1]);
  // Worker 2's client is untouched: its own events are handled as usual.
  h.fromWorker(2, { type: 'message', seq: 2, id: '2.1', data: 'real' });
  h.fromWorker(2, { type: 'closed', id: '2.1', code: 1001, reason: '', seq: 3 });
  await h.whenIdle();
  await tick();
  expect(log).toEqual(['connect 2.1', 'connect 1.1', 'message 2.1 real', 'close 2.1 1001']);
  expect(acks(2)).toEqual([1, 2, 3]);
  expect(h.stats.unknownClientEvents).toBe(3);
});

/** A logger that records its warn lines (and ignores the rest). */
function recordingLogger(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => undefined;
  const log = { warn: (_fields: unknown, message: string) => void warnings.push(message), error: ignore, info: ignore, debug: ignore } as unknown as Logger;
  return { log, warnings };
}

test('a peer that sends many bad events gets one warning line per kind, not one per event', async () => {
  class Plain extends Service {}
  const { log, warnings } = recordingLogger();
  const sent: ServiceToWorker[] = [];
  const ports = {
    toMaster: () => undefined,
    // Worker 1's link is full: everything but acks is refused.
    toWorker: (worker: number, message: ServiceToWorker) => worker === 1 && message.type === 'ack' && sent.push(message) > 0,
    workers: () => [1],
    linksClosed: () => Promise.resolve(),
    drained: () => Promise.resolve(),
    stopListening: () => undefined,
  };
  const service = new Plain();
  const h = new ServiceHost(service, 'test', ports, log);
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  for (let i = 0; i < 100; i++) {
    h.fromWorker(1, { type: 'message', seq: 2 + 4 * i, id: '2.1', data: 'foreign' });
    h.fromWorker(1, { type: 'message', seq: 3 + 4 * i, id: '1.9', data: 'unknown' });
    h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 4 + 4 * i });
    h.fromWorker(1, { type: 'closed', id: 'not-an-id', code: 1000, reason: '', seq: 5 + 4 * i });
    service.send('1.1', 'dropped');
  }
  expect(h.stats.unknownClientEvents).toBe(400);
  // The first send and the 1013 close it earns (which this fake refuses too; a real link never does); then 1.1 is being closed, so the other 99 are not tried.
  expect(h.stats.undeliverable).toBe(2);
  expect(warnings.sort()).toEqual([
    'duplicate connect ignored',
    'event for a client of another worker ignored',
    'event for an unknown client ignored',
    'no link to that worker, or its queue is full; message dropped, the clients that missed it closed with 1013',
  ]);
  await tick();
  // Still acknowledged, every one.
  expect(acksIn(sent)).toHaveLength(401);
});

test('a request past requestTimeout holds nothing: the envelope is acknowledged and its client goes on, an HTTP one is left to the worker\'s 504; late results are counted, never sent', async () => {
  const handled: string[] = [];
  const settle: Array<() => void> = [];
  class Hung extends Service {
    override onMessage(_client: Client, data: string | Buffer): void {
      handled.push(String(data));
    }
    override onRequest(): Promise<string> {
      return new Promise<string>((resolve) => settle.push(() => resolve('late')));
    }
  }
  const { host: h, sent } = host(new Hung(), { open: true }, { requestTimeout: 30 });
  h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.1', data: '{"$req":1,"data":null}' });
  h.fromWorker(1, { type: 'message', seq: 3, id: '1.1', data: 'next' });
  h.fromWorker(1, { type: 'request', rid: '1.9', method: 'GET', path: '/', query: {}, headers: {}, data: '' });
  await tick();
  expect(handled).toEqual([]);
  // What a stop waits for: it comes once both requests have timed out, not when they settle.
  await h.whenIdle();
  await tick();
  expect(handled).toEqual(['next']);
  expect(acksIn(sent)).toEqual([1, 2, 3]);
  const replies = sent.filter((m) => m.type === 'send').map((m) => JSON.parse((m as { data: string }).data) as { $res: number; error: { code: string } });
  expect(replies).toEqual([{ $res: 1, error: expect.objectContaining({ code: 'SY_ERR_REQUEST_TIMEOUT' }) }]);
  expect(sent.some((m) => m.type === 'response')).toBe(false);
  const before = sent.length;
  for (const resolve of settle) resolve();
  await tick();
  expect(h.stats.lateSettlements).toBe(2);
  expect(sent.slice(before)).toEqual([]);
});

describe('a full link queue (backpressure)', () => {
  /** Messages a full link refuses: everything but the must-keep kinds (link-server.ts's MUST_KEEP). */
  const MUST_KEEP = new Set(['ack', 'subscribe', 'unsubscribe', 'closeClient', 'response', 'retired']);

  /** A host linked to workers 1 and 2; a worker in `full` refuses what a full queue refuses. */
  function backpressured(service: Service): { host: ServiceHost; full: Set<number>; sent: Array<[number, ServiceToWorker]>; closes: () => Array<[number, string, number, string]>; drains: () => number } {
    const full = new Set<number>();
    const sent: Array<[number, ServiceToWorker]> = [];
    let drains = 0;
    const ports = {
      toMaster: () => undefined,
      toWorker: (worker: number, message: ServiceToWorker) => (MUST_KEEP.has(message.type) || !full.has(worker)) && sent.push([worker, message]) > 0,
      workers: () => [1, 2],
      linksClosed: () => Promise.resolve(),
      drained: () => {
        drains++;
        return Promise.resolve();
      },
      stopListening: () => undefined,
    };
    const closes = (): Array<[number, string, number, string]> => sent.flatMap(([worker, m]) => (m.type === 'closeClient' ? [[worker, m.id, m.code, m.reason] as [number, string, number, string]] : []));
    return { host: new ServiceHost(service, 'test', ports, silent), full, sent, closes, drains: () => drains };
  }

  class Plain extends Service {}

  test('a refused send returns false and closes its client with 1013 once; nothing more goes to it until its close arrives', () => {
    const service = new Plain();
    const { host: h, full, sent, closes } = backpressured(service);
    h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
    expect(service.send('1.1', 'fits')).toBe(true);
    full.add(1);
    expect(service.send('1.1', 'dropped')).toBe(false);
    expect(service.send('1.1', 'dropped too')).toBe(false);
    expect(closes()).toEqual([[1, '1.1', 1013, 'service backlog full']]);
    // Room again, but the client is being closed: it would see a gap, so it gets nothing more.
    full.delete(1);
    expect(service.send('1.1', 'after the gap')).toBe(false);
    expect(sent.filter(([, m]) => m.type === 'send').map(([, m]) => (m as { data: string }).data)).toEqual(['fits']);
    expect(h.stats).toMatchObject({ undeliverable: 1, backlogCloses: 1 });
    // Its close arrives; the same id linked again (a link that came back) is served, and closed again on a new refusal.
    h.fromWorker(1, { type: 'closed', id: '1.1', code: 1013, reason: 'service backlog full', seq: 2 });
    h.fromWorker(1, { type: 'connect', client: info('1.1'), resumed: true });
    expect(service.send('1.1', 'again')).toBe(true);
    full.add(1);
    expect(service.send('1.1', 'dropped again')).toBe(false);
    expect(closes()).toHaveLength(2);
  });

  test('a publish refused by one worker closes that worker\'s subscribers (not those in except) and counts only the others', () => {
    const service = new Plain();
    const { host: h, full, closes } = backpressured(service);
    for (const [seq, id] of ['1.1', '1.2', '1.3', '1.4', '2.1'].entries()) h.fromWorker(Number(id[0]), { type: 'connect', client: info(id), seq: seq + 1 });
    for (const id of ['1.1', '1.2', '1.3', '2.1']) service.subscribe(id, 'room');
    full.add(1);
    // 4 subscribers, 1.3 left out: 1.1 and 1.2 missed it on worker 1; 2.1 got it. 1.4 is not subscribed.
    expect(service.publish('room', 'hello', { except: '1.3' })).toBe(1);
    expect(closes().map(([worker, id, code]) => [worker, id, code])).toEqual([
      [1, '1.1', 1013],
      [1, '1.2', 1013],
    ]);
    // A second refused publish closes nobody twice.
    expect(service.publish('room', 'again')).toBe(1);
    expect(closes().map(([, id]) => id)).toEqual(['1.1', '1.2', '1.3']);
  });

  test('a broadcast refused by one worker closes that worker\'s clients (not those in except) and counts only the others', () => {
    const service = new Plain();
    const { host: h, full, closes } = backpressured(service);
    for (const [seq, id] of ['1.1', '1.2', '2.1', '2.2'].entries()) h.fromWorker(Number(id[0]), { type: 'connect', client: info(id), seq: seq + 1 });
    expect(service.broadcast('all')).toBe(4);
    full.add(2);
    expect(service.broadcast('some', { except: ['2.2', '1.1'] })).toBe(1);
    expect(closes()).toEqual([[2, '2.1', 1013, 'service backlog full']]);
  });

  test('drained() waits for the links to drain', async () => {
    const service = new Plain();
    const { drains } = backpressured(service);
    await service.drained();
    expect(drains()).toBe(1);
  });
});

describe('authenticated clients', () => {
  const withUser = (id: string, user: string): ClientInfo => ({ ...info(id), user, claims: { role: 'r' } });

  test('user and claims reach the Client; sendToUser and closeUser reach exactly that user’s connections, which leave the index on close', async () => {
    const seen: Client[] = [];
    class Users extends Service {
      override onConnect(client: Client): void {
        seen.push(client);
      }
    }
    const service = new Users();
    const { host: h, sent } = host(service);
    h.fromWorker(1, { type: 'connect', client: withUser('1.1', 'ann'), seq: 1 });
    h.fromWorker(1, { type: 'connect', client: withUser('1.4', 'ann'), seq: 4 });
    h.fromWorker(1, { type: 'connect', client: withUser('1.2', 'bob'), seq: 2 });
    h.fromWorker(1, { type: 'connect', client: info('1.3'), seq: 3 });
    await tick();
    expect(seen.map((client) => [client.id, client.user, client.claims])).toEqual([
      ['1.1', 'ann', { role: 'r' }],
      ['1.4', 'ann', { role: 'r' }],
      ['1.2', 'bob', { role: 'r' }],
      ['1.3', undefined, undefined],
    ]);
    expect('user' in (seen[3] as Client)).toBe(false);
    sent.length = 0;
    expect(service.sendToUser('ann', 'hi')).toBe(2);
    expect(sent.filter((m) => m.type === 'send').map((m) => (m as { id: string }).id).sort()).toEqual(['1.1', '1.4']);
    expect(service.sendToUser('nobody', 'hi')).toBe(0);
    expect(() => service.closeUser('nobody', 999)).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_ARGUMENT' }));
    h.fromWorker(1, { type: 'closed', id: '1.4', code: 1000, reason: '', seq: 5 });
    await tick();
    expect([...service.connectionsOf('ann')]).toEqual(['1.1']);
    sent.length = 0;
    expect(service.closeUser('ann', 4001, 'bye')).toBe(1);
    expect(sent.filter((m) => m.type === 'closeClient')).toEqual([{ type: 'closeClient', id: '1.1', code: 4001, reason: 'bye' }]);
  });
});

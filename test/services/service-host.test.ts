import pino from 'pino';
import { Service, type Client } from '../../src/services/service';
import { ServiceHost } from '../../src/services/service-host';
import type { ClientInfo, ServiceToMaster, ServiceToWorker } from '../../src/protocol';
import { isSwitchyardError } from '../../src/errors';

const silent = pino({ level: 'silent' });
const info = (id: string): ClientInfo => ({ id, service: 'test', path: '/test', query: {}, headers: {}, remoteAddress: '127.0.0.1' });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A host linked to one worker (id 1): what it sends to the master and to that worker lands in `sent`, in order. */
function host(service: Service, links = { open: true }): { host: ServiceHost; sent: Array<ServiceToMaster | ServiceToWorker> } {
  const sent: Array<ServiceToMaster | ServiceToWorker> = [];
  const ports = {
    toMaster: (message: ServiceToMaster) => void sent.push(message),
    toWorker: (worker: number, message: ServiceToWorker) => worker === 1 && links.open && sent.push(message) > 0,
    workers: () => (links.open ? [1] : []),
    linksClosed: () => Promise.resolve(),
    stopListening: () => undefined,
  };
  return { host: new ServiceHost(service, 'test', ports, silent), sent };
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
  const { host: h } = host(new Slow());
  h.fromWorker(1, { type: 'connect', client: info('1.1') });
  h.fromWorker(1, { type: 'message', seq: 1, id: '1.1', data: 'a' });
  h.fromWorker(1, { type: 'connect', client: info('1.2') });
  h.fromWorker(1, { type: 'message', seq: 2, id: '1.2', data: 'x' });
  h.fromWorker(1, { type: 'message', seq: 3, id: '1.1', data: 'b' });
  h.fromWorker(1, { type: 'close', id: '1.1', code: 1000, reason: '' });
  await tick();
  // Client 1.2 is not held up by 1.1's pending onConnect.
  expect(log).toEqual(['connect 1.1', 'connect 1.2']);
  releases.get('1.1')?.();
  releases.get('1.2')?.();
  await h.whenIdle();
  expect(log.filter((l) => l.includes('1.1'))).toEqual(['connect 1.1', 'connected 1.1', 'message 1.1 a', 'message 1.1 b', 'close 1.1 1000']);
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
  const { host: h } = host(new Faulty());
  h.fromWorker(1, { type: 'connect', client: info('1.1') });
  ['throw', 'one', 'reject', 'two'].forEach((data, i) => h.fromWorker(1, { type: 'message', seq: i + 1, id: '1.1', data }));
  await h.whenIdle();
  await tick();
  expect(seen).toEqual(['one', 'two']);
  expect(h.stats.handlerErrors).toBe(2);
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
  h.fromWorker(1, { type: 'message', seq: 5, id: '1.1', data: 'AQI=', binary: true });
  await h.whenIdle();
  expect(received).toEqual(Buffer.from([1, 2]));
  expect(sent).toEqual([
    { type: 'send', id: '1.1', data: '{"ok":true}' },
    { type: 'send', id: '1.1', data: 'AQI=', binary: true },
    { type: 'broadcast', except: ['1.1'], data: 'all' },
    { type: 'close', id: '1.1', code: 4000, reason: 'bye' },
  ]);
  h.fromWorker(1, { type: 'close', id: '1.1', code: 1000, reason: '' });
  expect(service.clients.has('1.1')).toBe(false);
  expect(service.send('1.1', 'late')).toBe(false);
});

test('caller bugs throw at once with a typed error', () => {
  class Plain extends Service {}
  const detached = new Plain();
  expect(() => detached.send('1.1', 'x')).toThrow(expect.objectContaining({ code: 'SY_ERR_SERVICE_NOT_ATTACHED' }));
  const service = new Plain();
  const { host: h } = host(service);
  h.fromWorker(1, { type: 'connect', client: info('1.1') });
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
  h.fromWorker(1, { type: 'connect', client: info('1.1') });
  h.fromWorker(1, { type: 'message', seq: 6, id: '1.1', data: 'x' });
  const stopped = h.stop();
  await tick();
  expect(order).toEqual([]);
  release();
  await stopped;
  expect(order).toEqual(['message done', 'onStop']);
  expect(sent.at(-1)).toEqual({ type: 'stopped' });
});

test('events for unknown clients are ignored and counted', () => {
  class Plain extends Service {}
  const { host: h } = host(new Plain());
  h.fromWorker(1, { type: 'message', seq: 7, id: '9.9', data: 'x' });
  h.fromWorker(1, { type: 'close', id: '9.9', code: 1000, reason: '' });
  expect(h.stats.unknownClientEvents).toBe(2);
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
  h.fromWorker(1, { type: 'connect', client: info('1.1') });
  h.fromWorker(1, { type: 'message', seq: 10, id: '1.1', data: 'a' });
  h.fromWorker(1, { type: 'message', seq: 11, id: '1.1', data: 'b', redelivered: true });
  h.fromWorker(1, { type: 'message', seq: 12, id: '7.7', data: 'for a client that left' });
  await tick();
  const acks = (): number[] => sent.flatMap((m) => (m.type === 'ack' ? [...m.seqs] : []));
  // The unknown client's message is done at once; the others wait for their handlers.
  expect(acks()).toEqual([12]);
  releases[0]?.();
  await tick();
  await tick();
  expect(acks()).toEqual([12, 10]);
  releases[1]?.();
  await h.whenIdle();
  await tick();
  expect(acks()).toEqual([12, 10, 11]);
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
  h.fromWorker(1, { type: 'connect', client: info('1.1') });
  h.fromWorker(1, { type: 'message', seq: 1, id: '1.1', data: '{"$req":5,"data":null}' });
  await h.whenIdle();
  const replies = sent.filter((m) => m.type === 'send').map((m) => JSON.parse((m as { data: string }).data));
  expect(replies).toEqual([{ $res: 5, error: { code: 'SY_ERR_HANDLER_FAILED', message: 'the service handler failed' } }]);
  expect(h.stats.handlerErrors).toBe(1);
});

test('publish counts each excepted subscriber once', () => {
  class Plain extends Service {}
  const service = new Plain();
  const { host: h, sent } = host(service);
  h.fromWorker(1, { type: 'connect', client: info('1.1') });
  h.fromWorker(1, { type: 'connect', client: info('1.2') });
  service.subscribe('1.1', 't');
  service.subscribe('1.2', 't');
  expect(service.publish('t', 'x', { except: ['1.1', '1.1'] })).toBe(1);
  expect(sent.filter((m) => m.type === 'publish')).toHaveLength(1);
});

import pino from 'pino';
import type { Client } from '../../src/services/client';
import { ResumeGate, type GateOpening, type HeldMessage } from '../../src/services/resume-gate';
import { Service } from '../../src/services/service';
import { ServiceHost } from '../../src/services/service-host';
import type { ClientInfo, ServiceToMaster, ServiceToWorker, WorkerToService } from '../../src/protocol';

const silent = pino({ level: 'silent' });
const info = (id: string): ClientInfo => ({ id, service: 'test', path: '/test', query: {}, headers: {}, remoteAddress: '127.0.0.1' });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const resumed = (id: string): WorkerToService => ({ type: 'connect', client: info(id), resumed: true });
const message = (id: string, seq: number, data: string): WorkerToService => ({ type: 'message', id, seq, data });
const END: WorkerToService = { type: 'resumeEnd' };

/** A gate expecting `workers`, with what it gave back when it opened. */
function gate(workers: number[], timeoutMs = 60_000, maxRequests = 10): { gate: ResumeGate; openings: Array<{ held: readonly HeldMessage[]; why: GateOpening; late: readonly number[] }> } {
  const openings: Array<{ held: readonly HeldMessage[]; why: GateOpening; late: readonly number[] }> = [];
  const made = new ResumeGate({ workers, timeoutMs, maxRequests, opened: (held, why, late) => openings.push({ held, why, late }) });
  made.start();
  return { gate: made, openings };
}

describe('ResumeGate', () => {
  afterEach(() => jest.useRealTimers());

  test('no worker expected (a first start): open at once, nothing held', () => {
    const { gate: g, openings } = gate([]);
    expect(g.open).toBe(true);
    expect(openings).toEqual([{ held: [], why: 'resumed', late: [] }]);
  });

  test('resumes and connects pass; every other event waits, in arrival order, until every expected worker has ended its resumes (checked one turn later)', async () => {
    const { gate: g, openings } = gate([1, 2]);
    expect(g.admit(1, { type: 'interest', topic: 't', on: true })).toBe('handle');
    expect(g.admit(1, resumed('1.1'))).toBe('handle');
    expect(g.admit(1, END)).toBe('handle');
    g.resumeEnded(1);
    expect(g.admit(1, message('1.1', 1, 'a'))).toBe('held');
    // A connect is its client's first event: it runs at once (the host counts its onConnect, see connectStarted).
    expect(g.admit(1, { type: 'connect', client: info('1.2'), seq: 2 })).toBe('handle');
    expect(g.admit(2, resumed('2.1'))).toBe('handle');
    expect(g.admit(1, { type: 'closed', id: '1.1', code: 1000, reason: '', seq: 3 })).toBe('held');
    expect(openings).toEqual([]);
    g.resumeEnded(2);
    // Not within the turn: the rest of a worker's replay batch (a connect after its resumeEnd) is counted first.
    expect(g.open).toBe(false);
    await tick();
    expect(g.open).toBe(true);
    expect(openings).toHaveLength(1);
    expect(openings[0]?.why).toBe('resumed');
    expect(openings[0]?.held.map((h) => [h.worker, h.message.type, 'seq' in h.message ? h.message.seq : undefined])).toEqual([
      [1, 'message', 1],
      [1, 'closed', 3],
    ]);
  });

  test('a worker has resumed only once every onConnect from it that started while the gate waits has settled too, a connect after its resumeEnd included', async () => {
    const { gate: g, openings } = gate([1]);
    const first = g.connectStarted(1);
    const second = g.connectStarted(1);
    g.resumeEnded(1);
    first?.();
    // A connect replayed after resumeEnd, in the same turn: counted before the gate can open.
    const replayed = g.connectStarted(1);
    await tick();
    expect(g.open).toBe(false);
    second?.();
    await tick();
    expect(g.open).toBe(false);
    replayed?.();
    await tick();
    expect(g.open).toBe(true);
    expect(openings[0]?.why).toBe('resumed');
    // Not waited for: nothing to count.
    expect(g.connectStarted(1)).toBeUndefined();
  });

  test('the deadline runs from the first message of any worker and opens the gate, naming the workers that had not resumed', () => {
    jest.useFakeTimers();
    const { gate: g, openings } = gate([1, 2], 1000);
    // Before any link: no clock runs (a reload's new instance waits for the old one to stop).
    jest.advanceTimersByTime(5000);
    expect(g.open).toBe(false);
    g.admit(1, END);
    g.resumeEnded(1);
    expect(g.admit(1, message('1.1', 1, 'a'))).toBe('held');
    jest.advanceTimersByTime(999);
    expect(g.open).toBe(false);
    jest.advanceTimersByTime(1);
    expect(g.open).toBe(true);
    expect(openings).toEqual([{ held: [{ worker: 1, message: message('1.1', 1, 'a') }], why: 'deadline', late: [2] }]);
  });

  test('a revoked worker (it exited) is no longer waited for', async () => {
    const { gate: g, openings } = gate([1, 2]);
    g.resumeEnded(1);
    await tick();
    expect(g.open).toBe(false);
    g.revoked(2);
    await tick();
    expect(openings.map((o) => o.why)).toEqual(['resumed']);
  });

  test("a link that closes: its held events are dropped (its worker sends them again), its resume starts over, a settle of its old resume counts for nothing", async () => {
    const { gate: g, openings } = gate([1, 2]);
    g.resumeEnded(2);
    const old = g.connectStarted(1);
    g.resumeEnded(1);
    g.admit(1, message('1.1', 1, 'lost with the link'));
    g.admit(2, message('2.1', 1, 'kept'));
    g.linkClosed(1);
    old?.();
    await tick();
    expect(g.open).toBe(false);
    g.resumeEnded(1);
    await tick();
    expect(openings).toEqual([{ held: [{ worker: 2, message: message('2.1', 1, 'kept') }], why: 'resumed', late: [] }]);
  });

  test('requests wait too, up to maxRequests; further ones are refused', () => {
    const { gate: g, openings } = gate([1], 60_000, 1);
    const request: WorkerToService = { type: 'request', rid: '1.1', method: 'GET', path: '/', query: {}, headers: {}, data: '' };
    expect(g.admit(1, request)).toBe('held');
    expect(g.admit(1, { type: 'publish', rid: '1.2', topic: 't', data: 'x' })).toBe('refuse');
    g.stop();
    expect(openings).toEqual([{ held: [{ worker: 1, message: request }], why: 'stop', late: [1] }]);
  });
});

/** Subscribes every client to `t` on connect (a resumed one too), publishes each message to it, records its closes. */
class Fanout extends Service {
  readonly events: string[] = [];
  override onConnect(client: Client): void {
    this.subscribe(client.id, 't');
  }
  override onMessage(_client: Client, data: string | Buffer): void {
    this.publish('t', String(data));
  }
  override onClose(client: Client): void {
    this.events.push(`close ${client.id}`);
  }
  override onStop(): void {
    this.events.push('stop');
  }
}

/** A host linked to workers 1 and 2: what goes to each lands in `sent` as [worker, message]. */
function twoWorkers(service: Service): { host: ServiceHost; sent: Array<[number, ServiceToMaster | ServiceToWorker]> } {
  const sent: Array<[number, ServiceToMaster | ServiceToWorker]> = [];
  const ports = {
    toMaster: (m: ServiceToMaster) => void sent.push([0, m]),
    toWorker: (worker: number, m: ServiceToWorker) => sent.push([worker, m]) > 0,
    workers: () => [1, 2],
    linksClosed: () => Promise.resolve(),
    drained: () => Promise.resolve(),
    stopListening: () => undefined,
  };
  return { host: new ServiceHost(service, 'test', ports, silent), sent };
}

const publishes = (sent: ReadonlyArray<[number, ServiceToMaster | ServiceToWorker]>): Array<[number, string]> =>
  sent.flatMap(([worker, m]) => (m.type === 'publish' ? [[worker, m.data] as [number, string]] : []));

describe('ServiceHost behind its resume gate', () => {
  test("one worker's replayed message waits for the other worker's resumes: its publish reaches that worker's resubscribed clients", async () => {
    const { host: h, sent } = twoWorkers(new Fanout());
    h.expectResumes([1, 2], 60_000, 10);
    h.fromWorker(1, resumed('1.1'));
    h.fromWorker(1, END);
    h.fromWorker(1, message('1.1', 1, 'm1'));
    await tick();
    // Without the gate it would have gone to worker 1 alone, before 2.1 was subscribed again.
    expect(publishes(sent)).toEqual([]);
    h.fromWorker(2, resumed('2.1'));
    h.fromWorker(2, END);
    await tick();
    expect(publishes(sent).sort()).toEqual([[1, 'm1'], [2, 'm1']]);
    await tick();
    expect(sent.filter(([, m]) => m.type === 'ack')).toEqual([[1, { type: 'ack', seqs: [1] }]]);
  });

  test("a connect its worker replays after its resumeEnd (the dead instance handled it but never acknowledged it) subscribes its client before any held publish", async () => {
    const { host: h, sent } = twoWorkers(new Fanout());
    h.expectResumes([1, 2], 60_000, 10);
    h.fromWorker(1, resumed('1.1'));
    h.fromWorker(1, END);
    h.fromWorker(1, message('1.1', 1, 'm1'));
    // Worker 2's replay, as its link sends it: the resumes, resumeEnd, then its unacknowledged events in order, a connect among them.
    h.fromWorker(2, resumed('2.1'));
    h.fromWorker(2, END);
    h.fromWorker(2, { type: 'connect', client: info('2.2'), seq: 1 });
    h.fromWorker(2, message('2.2', 2, 'm2'));
    await tick();
    const toWorker2 = sent.flatMap(([worker, m]) => (worker !== 2 ? [] : m.type === 'subscribe' ? [`subscribe ${m.id}`] : m.type === 'publish' ? [`publish ${String(m.data)}`] : []));
    // Before: the gate opened at worker 2's resumeEnd and m1 was published before 2.2 was subscribed again.
    expect(toWorker2).toEqual(['subscribe 2.1', 'subscribe 2.2', 'publish m1', 'publish m2']);
  });

  test('a connect that comes while the gate waits runs at once, and the gate waits for its onConnect to settle too (an async one subscribes late)', async () => {
    let loaded: () => void = () => undefined;
    class LoadsFirst extends Service {
      override async onConnect(client: Client): Promise<void> {
        if (!client.resumed) await new Promise<void>((resolve) => (loaded = resolve));
        this.subscribe(client.id, 't');
      }
      override onMessage(_client: Client, data: string | Buffer): void {
        this.publish('t', String(data));
      }
    }
    const { host: h, sent } = twoWorkers(new LoadsFirst());
    h.expectResumes([1, 2], 60_000, 10);
    h.fromWorker(1, resumed('1.1'));
    h.fromWorker(1, END);
    h.fromWorker(1, message('1.1', 1, 'm1'));
    h.fromWorker(2, END);
    h.fromWorker(2, { type: 'connect', client: info('2.2'), seq: 1 });
    await tick();
    await tick();
    expect(publishes(sent)).toEqual([]);
    loaded();
    await tick();
    await tick();
    expect(publishes(sent).sort()).toEqual([[1, 'm1'], [2, 'm1']]);
    // Its connect is acknowledged once settled, as any connect.
    expect(sent.filter(([worker, m]) => worker === 2 && m.type === 'ack')).toEqual([[2, { type: 'ack', seqs: [1] }]]);
  });

  test('expectResumes with no worker (a first start): events are handled at once', () => {
    const { host: h, sent } = twoWorkers(new Fanout());
    h.expectResumes([], 60_000, 10);
    h.fromWorker(1, { type: 'connect', client: info('1.1'), seq: 1 });
    h.fromWorker(1, message('1.1', 2, 'now'));
    expect(publishes(sent)).toEqual([[1, 'now']]);
  });

  test('a shutdown handles what waited (every close reaches onClose before onStop); a retire gives it back unhandled, requests 503', async () => {
    const down = new Fanout();
    const { host: h } = twoWorkers(down);
    h.expectResumes([1, 2], 60_000, 10);
    h.fromWorker(1, resumed('1.1'));
    h.fromWorker(1, END);
    h.fromWorker(1, { type: 'closed', id: '1.1', code: 1001, reason: '', seq: 1 });
    await h.stop('shutdown');
    expect(down.events).toEqual(['close 1.1', 'stop']);

    const retired = new Fanout();
    const { host: r, sent } = twoWorkers(retired);
    r.expectResumes([1, 2], 60_000, 10);
    r.fromWorker(1, resumed('1.1'));
    r.fromWorker(1, END);
    r.fromWorker(1, message('1.1', 1, 'never handled'));
    r.fromWorker(1, { type: 'request', rid: '1.9', method: 'GET', path: '/', query: {}, headers: {}, data: '' });
    await r.stop('retire');
    expect(publishes(sent)).toEqual([]);
    expect(sent.filter(([, m]) => m.type === 'ack')).toEqual([]);
    expect(sent.find(([, m]) => m.type === 'response')).toEqual([1, expect.objectContaining({ type: 'response', rid: '1.9', status: 503 })]);
  });
});

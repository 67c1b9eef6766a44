import { ClusterQueries, GATHER_TIMEOUT_MS, MAX_WAITING_SCRAPES, type MetricsSource } from '../../src/master/cluster-queries';
import { createLogger } from '../../src/logger';
import type { MasterToWorker, MetricsSnapshot } from '../../src/protocol';

type QueryResult = Extract<MasterToWorker, { type: 'queryResult' }>;

const log = createLogger('silent', 'master');

function counter(name: string, value: number, labels: Record<string, string> = {}): MetricsSnapshot {
  return [{ name, help: name, type: 'counter', aggregator: 'sum', values: [{ value, labels }] }];
}

/** A process that records every metrics request it is sent; the test answers for it. */
class FakeSource implements MetricsSource {
  readonly asked: number[] = [];
  constructor(
    readonly instance: string,
    private readonly accepts = true,
  ) {}
  deliver(message: { readonly type: 'metricsRequest'; readonly qid: number }): boolean {
    if (!this.accepts) return false;
    this.asked.push(message.qid);
    return true;
  }
  get lastQid(): number {
    return this.asked.at(-1) as number;
  }
}

/** `cacheMs` 0 by default: most tests here check the gathers themselves, each scrape a fresh one. */
function setup(sources: FakeSource[], cacheMs = 0) {
  const replies: Array<{ workerId: number; message: QueryResult }> = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const queries = new ClusterQueries(
    {
      health: () => ({ healthy: false, ready: false, body: { status: 'degraded' } }),
      ownMetrics: () => Promise.resolve(counter('switchyard_master_total', 1)),
      metricsSources: () => sources,
      replyTo: (workerId, message) => {
        replies.push({ workerId, message });
        for (const waiter of waiters.filter((w) => replies.length >= w.count)) waiter.resolve();
      },
    },
    log,
    cacheMs,
  );
  /** Resolves once `count` replies in all have been sent. */
  const replied = (count: number): Promise<void> =>
    replies.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
  return { queries, replies, replied };
}

/** Lets the gather's one async step (the master's own snapshot) run, so its requests are out. */
const requestsSent = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

afterEach(() => jest.useRealTimers());

test('concurrent scrapes share one gather: each process is asked once, every scrape gets the same result', async () => {
  const sources = [new FakeSource('worker-1'), new FakeSource('service-a.1')];
  const { queries, replies, replied } = setup(sources);
  for (let qid = 1; qid <= 10; qid++) queries.onQuery(qid % 2 === 0 ? 1 : 2, qid, 'metrics');
  await requestsSent();
  expect(sources.map((s) => s.asked.length)).toEqual([1, 1]);
  expect(queries.gatherCount).toBe(1);
  for (const source of sources) queries.onMetrics(source.lastQid, counter('switchyard_x_total', 2));
  await replied(10);
  expect(replies.map((r) => r.message.qid).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(new Set(replies.map((r) => r.message.body)).size).toBe(1);
  expect(replies.every((r) => r.message.status === 200)).toBe(true);
  expect(value(replies[0]?.message.body as string, 'switchyard_x_total')).toBe(4);
  expect(replies.find((r) => r.message.qid === 4)?.workerId).toBe(1);
  // The next scrape, after that gather finished, gathers afresh.
  queries.onQuery(1, 11, 'metrics');
  await requestsSent();
  expect(sources.map((s) => s.asked.length)).toEqual([2, 2]);
  for (const source of sources) queries.onMetrics(source.lastQid, counter('switchyard_x_total', 3));
  await replied(11);
  expect(value(replies[10]?.message.body as string, 'switchyard_x_total')).toBe(6);
});

test(`at most ${MAX_WAITING_SCRAPES} scrapes wait for a gather; the rest are answered 503 at once`, async () => {
  const source = new FakeSource('worker-1');
  const { queries, replies, replied } = setup([source]);
  for (let qid = 1; qid <= MAX_WAITING_SCRAPES + 3; qid++) queries.onQuery(1, qid, 'metrics');
  expect(replies.map((r) => [r.message.qid, r.message.status])).toEqual([
    [MAX_WAITING_SCRAPES + 1, 503],
    [MAX_WAITING_SCRAPES + 2, 503],
    [MAX_WAITING_SCRAPES + 3, 503],
  ]);
  await requestsSent();
  queries.onMetrics(source.lastQid, counter('switchyard_x_total', 1));
  await replied(MAX_WAITING_SCRAPES + 3);
  expect(replies.filter((r) => r.message.status === 200)).toHaveLength(MAX_WAITING_SCRAPES);
  expect(source.asked).toHaveLength(1);
});

test('a process that misses the deadline is rendered from its latest snapshot; a late reply is ignored', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  const fast = new FakeSource('worker-1');
  const slow = new FakeSource('worker-2');
  const { queries, replies, replied } = setup([fast, slow]);
  queries.onQuery(1, 1, 'metrics');
  await requestsSent();
  queries.onMetrics(fast.lastQid, counter('switchyard_x_total', 5));
  queries.onMetrics(slow.lastQid, counter('switchyard_x_total', 7));
  await replied(1);
  expect(value(replies[0]?.message.body as string, 'switchyard_x_total')).toBe(12);

  queries.onQuery(1, 2, 'metrics');
  await requestsSent();
  queries.onMetrics(fast.lastQid, counter('switchyard_x_total', 6));
  jest.advanceTimersByTime(GATHER_TIMEOUT_MS - 1);
  expect(replies).toHaveLength(1);
  jest.advanceTimersByTime(1);
  await replied(2);
  // 6 fresh from the fast one, 7 reused from the slow one: no dip.
  expect(value(replies[1]?.message.body as string, 'switchyard_x_total')).toBe(13);
  const lateQid = slow.lastQid;
  queries.onMetrics(lateQid, counter('switchyard_x_total', 1000));
  queries.onQuery(1, 3, 'metrics');
  await requestsSent();
  expect(slow.lastQid).not.toBe(lateQid);
  queries.onMetrics(fast.lastQid, counter('switchyard_x_total', 6));
  queries.onMetrics(slow.lastQid, counter('switchyard_x_total', 8));
  await replied(3);
  expect(value(replies[2]?.message.body as string, 'switchyard_x_total')).toBe(14);
});

test('an exited process keeps its counters in the totals; its replacement adds to them', async () => {
  const sources = [new FakeSource('worker-1'), new FakeSource('service-a.1')];
  const { queries, replies, replied } = setup(sources);
  queries.onQuery(1, 1, 'metrics');
  await requestsSent();
  queries.onMetrics(sources[0]?.lastQid as number, counter('switchyard_x_total', 10));
  queries.onMetrics(sources[1]?.lastQid as number, counter('switchyard_y_total', 4, { service: 'a' }));
  await replied(1);
  queries.retire('worker-1');
  queries.retire('service-a.1');
  sources.splice(0, 2, new FakeSource('worker-3'), new FakeSource('service-a.2'));
  queries.onQuery(1, 2, 'metrics');
  await requestsSent();
  queries.onMetrics(sources[0]?.lastQid as number, counter('switchyard_x_total', 1));
  queries.onMetrics(sources[1]?.lastQid as number, counter('switchyard_y_total', 1, { service: 'a' }));
  await replied(2);
  const body = replies[1]?.message.body as string;
  expect(value(body, 'switchyard_x_total')).toBe(11);
  expect(value(body, 'switchyard_y_total{service="a"}')).toBe(5);
});

test('processes that refuse the request are not waited for; health answers at once with its status', async () => {
  const { queries, replies, replied } = setup([new FakeSource('service-a.1', false)]);
  queries.onQuery(2, 1, 'metrics');
  await replied(1);
  expect(replies[0]?.message).toMatchObject({ qid: 1, status: 200 });
  expect(value(replies[0]?.message.body as string, 'switchyard_master_total')).toBe(1);
  queries.onQuery(2, 2, 'health');
  expect(replies[1]?.message).toMatchObject({ qid: 2, status: 503, contentType: 'application/json; charset=utf-8' });
  expect(JSON.parse(replies[1]?.message.body as string)).toEqual({ status: 'degraded' });
});

test('close() ends a gather in progress with what it has', async () => {
  const source = new FakeSource('worker-1');
  const { queries, replies, replied } = setup([source]);
  queries.onQuery(1, 1, 'metrics');
  await requestsSent();
  queries.close();
  await replied(1);
  expect(replies[0]?.message.status).toBe(200);
});

test('scrapes within the cache window are answered from the last result at once: a flood costs one gather per window', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  const source = new FakeSource('worker-1');
  const { queries, replies, replied } = setup([source], 1000);
  queries.onQuery(1, 1, 'metrics');
  await requestsSent();
  queries.onMetrics(source.lastQid, counter('switchyard_x_total', 5));
  await replied(1);
  // A flood within the window: every scrape answered synchronously, nobody asked again.
  jest.advanceTimersByTime(999);
  for (let qid = 2; qid <= 201; qid++) queries.onQuery(qid % 2, qid, 'metrics');
  expect(replies).toHaveLength(201);
  expect(new Set(replies.map((r) => r.message.body)).size).toBe(1);
  expect(replies.every((r) => r.message.status === 200)).toBe(true);
  expect(queries.gatherCount).toBe(1);
  expect(source.asked).toHaveLength(1);
  // Past the window, the next scrape gathers afresh.
  jest.advanceTimersByTime(1);
  queries.onQuery(1, 202, 'metrics');
  await requestsSent();
  expect(queries.gatherCount).toBe(2);
  queries.onMetrics(source.lastQid, counter('switchyard_x_total', 9));
  await replied(202);
  expect(value(replies[201]?.message.body as string, 'switchyard_x_total')).toBe(9);
});

test('a failed gather is not cached', async () => {
  const source = new FakeSource('worker-1');
  let fail = true;
  const replies: QueryResult[] = [];
  const queries = new ClusterQueries(
    {
      health: () => ({ healthy: true, ready: true, body: {} }),
      ownMetrics: () => (fail ? Promise.reject(new Error('registry broke')) : Promise.resolve(counter('switchyard_master_total', 1))),
      metricsSources: () => [source],
      replyTo: (_workerId, message) => void replies.push(message),
    },
    log,
    60_000,
  );
  queries.onQuery(1, 1, 'metrics');
  await requestsSent();
  expect(replies.map((r) => r.status)).toEqual([500]);
  fail = false;
  queries.onQuery(1, 2, 'metrics');
  await requestsSent();
  queries.onMetrics(source.lastQid, counter('switchyard_x_total', 1));
  await requestsSent();
  expect(replies.map((r) => r.status)).toEqual([500, 200]);
});

test('a process that missed the last deadline is not waited for again: the next scrape is answered at once from its latest snapshot', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  const fast = new FakeSource('worker-1');
  const stopped = new FakeSource('service-a.1');
  const { queries, replies, replied } = setup([fast, stopped]);
  queries.onQuery(1, 1, 'metrics');
  await requestsSent();
  queries.onMetrics(fast.lastQid, counter('switchyard_x_total', 1));
  queries.onMetrics(stopped.lastQid, counter('switchyard_x_total', 10));
  await replied(1);

  // The service stops answering (SIGSTOP): this scrape waits for it, once, up to the deadline.
  queries.onQuery(1, 2, 'metrics');
  await requestsSent();
  queries.onMetrics(fast.lastQid, counter('switchyard_x_total', 2));
  jest.advanceTimersByTime(GATHER_TIMEOUT_MS);
  await replied(2);
  expect(value(replies[1]?.message.body as string, 'switchyard_x_total')).toBe(12);

  // The next ones do not wait for it: answered as soon as the others are, without any timer running.
  for (let qid = 3; qid <= 5; qid++) {
    queries.onQuery(1, qid, 'metrics');
    await requestsSent();
    queries.onMetrics(fast.lastQid, counter('switchyard_x_total', qid));
    await replied(qid);
    expect(value(replies[qid - 1]?.message.body as string, 'switchyard_x_total')).toBe(qid + 10);
  }
  // It is asked again, but one request at a time: no pile of requests for a process that reads none.
  expect(stopped.asked).toHaveLength(3);
  jest.advanceTimersByTime(GATHER_TIMEOUT_MS);
  queries.onQuery(1, 6, 'metrics');
  await requestsSent();
  expect(stopped.asked).toHaveLength(4);
  // It answers again (SIGCONT): its snapshot is taken, and the next scrape waits for it as for everyone.
  queries.onMetrics(stopped.lastQid, counter('switchyard_x_total', 20));
  queries.onMetrics(fast.lastQid, counter('switchyard_x_total', 6));
  await replied(6);
  queries.onQuery(1, 7, 'metrics');
  await requestsSent();
  queries.onMetrics(fast.lastQid, counter('switchyard_x_total', 7));
  await requestsSent();
  expect(replies).toHaveLength(6);
  queries.onMetrics(stopped.lastQid, counter('switchyard_x_total', 21));
  await replied(7);
  expect(value(replies[6]?.message.body as string, 'switchyard_x_total')).toBe(28);
});

test('health and ready answer the same body, each with its own verdict: /healthz on the processes, /readyz on liveness too', () => {
  const replies: QueryResult[] = [];
  const queries = new ClusterQueries(
    {
      health: () => ({ healthy: true, ready: false, body: { status: 'degraded' } }),
      ownMetrics: () => Promise.resolve([]),
      metricsSources: () => [],
      replyTo: (_workerId, message) => replies.push(message),
    },
    log,
    0,
  );
  queries.onQuery(1, 1, 'health');
  queries.onQuery(1, 2, 'ready');
  expect(replies.map((reply) => [reply.qid, reply.status])).toEqual([
    [1, 200],
    [2, 503],
  ]);
  expect(replies[0]?.body).toBe(replies[1]?.body);
});

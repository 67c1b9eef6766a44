import { CHILD_CONFIG_ENV } from '../../src/child-env';
import { isSwitchyardError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { WorkerPool } from '../../src/master/worker-pool';
import { resolveOptions, type SwitchyardOptions } from '../../src/options';
import type { ClusterQuery, MetricsSnapshot, RoutingCounters } from '../../src/protocol';
import { FakeWorkerForker, nextTurn } from './fake-process';

const log = createLogger('silent', 'master');

function pool(options: SwitchyardOptions = {}) {
  const forker = new FakeWorkerForker();
  const exits: Array<{ workerId: number; expected: boolean; instance: string; signal: string | null }> = [];
  const queries: Array<{ workerId: number; qid: number; what: ClusterQuery }> = [];
  const metrics: Array<{ qid: number; metrics: MetricsSnapshot }> = [];
  const forked: number[] = [];
  const online: number[] = [];
  const workers = new WorkerPool(
    resolveOptions({ workers: 2, restartDelay: 100, maxRestartDelay: 1000, startTimeout: 5000, stopTimeout: 2000, ...options }),
    log,
    {
      onForked: (_id, channel) => forked.push(channel.pid as number),
      onQuery: (workerId, qid, what) => queries.push({ workerId, qid, what }),
      onMetrics: (qid, snapshot) => metrics.push({ qid, metrics: snapshot }),
      onQuarantined: () => undefined,
      onExit: (workerId, exit, expected, instance) => exits.push({ workerId, expected, instance, signal: exit.signal }),
      onReady: (workerId) => online.push(workerId),
    },
    forker.fork,
  );
  return { workers, forker, exits, queries, metrics, forked, online };
}

/** A pool whose two workers listen. */
async function started(options: SwitchyardOptions = {}) {
  const setup = pool(options);
  const listening = setup.workers.start(8080);
  await setup.forker.forked(2);
  setup.forker.ready(1);
  setup.forker.ready(2);
  await listening;
  return setup;
}

const ROUTING: RoutingCounters = { foreignAddressDrops: 1, goneClientDrops: 2, serviceQueueFull: 3, linkQueueFull: 4, requestsRefused: 5 };

beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
afterEach(() => jest.useRealTimers());

test('start() forks options.workers workers on the port and resolves once every one listens', async () => {
  const { workers, forker, forked, online } = pool();
  let done = false;
  const listening = workers.start(8080).then(() => (done = true));
  await forker.forked(2);
  expect(forker.workers).toHaveLength(2);
  const config = JSON.parse(forker.workers[0]?.env[CHILD_CONFIG_ENV] as string) as { role: string; port: number };
  expect(config).toMatchObject({ role: 'worker', port: 8080 });
  expect(forked).toEqual(forker.workers.map((w) => w.process.pid));
  forker.ready(1);
  await nextTurn();
  expect(done).toBe(false);
  expect(workers.workerStats().map((w) => w.ready)).toEqual([true, false]);
  forker.ready(2);
  await listening;
  expect(online).toEqual([1, 2]);
  expect(workers.size).toBe(2);
});

test("balancing 'kernel-fair' forks the workers with libuv's single accept (UV_TCP_SINGLE_ACCEPT=1); the other modes do not", async () => {
  const fair = pool({ balancing: 'kernel-fair' });
  void fair.workers.start(8080);
  await fair.forker.forked(2);
  for (const worker of fair.forker.workers) expect(worker.env.UV_TCP_SINGLE_ACCEPT).toBe('1');
  for (const balancing of ['kernel', 'round-robin'] as const) {
    const other = pool({ balancing });
    void other.workers.start(8080);
    await other.forker.forked(2);
    for (const worker of other.forker.workers) expect(worker.env.UV_TCP_SINGLE_ACCEPT).toBeUndefined();
  }
});

test('a worker that exits before listening fails start() with SY_ERR_WORKER_START_FAILED', async () => {
  const { workers, forker } = pool();
  const listening = workers.start(8080);
  await forker.forked(2);
  forker.ready(1);
  forker.workers[1]?.process.exit(1);
  const error: unknown = await listening.catch((e: unknown) => e);
  expect(isSwitchyardError(error) && error.code).toBe('SY_ERR_WORKER_START_FAILED');
  // During startup, listen() fails as a whole: no replacement.
  jest.advanceTimersByTime(60_000);
  expect(forker.workers).toHaveLength(2);
});

test('a worker that does not listen within startTimeout is killed', async () => {
  const { workers, forker } = pool({ startTimeout: 3000 });
  const listening = workers.start(8080).catch((e: unknown) => e);
  await forker.forked(2);
  forker.ready(1);
  jest.advanceTimersByTime(2999);
  expect(forker.workers[1]?.process.signals).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(forker.workers[1]?.process.signals).toEqual(['SIGKILL']);
  expect(forker.workers[0]?.process.signals).toEqual([]);
  expect(isSwitchyardError(await listening)).toBe(true);
});

test('a crashed worker is replaced after the backoff delay, which doubles while workers keep crashing', async () => {
  const { workers, forker, exits } = await started();
  forker.workers[0]?.process.exit(null, 'SIGKILL');
  await nextTurn();
  expect(exits).toEqual([{ workerId: 1, expected: false, instance: 'worker-1', signal: 'SIGKILL' }]);
  expect(workers.restarts).toBe(1);
  jest.advanceTimersByTime(99);
  expect(forker.workers).toHaveLength(2);
  jest.advanceTimersByTime(1);
  expect(forker.workers).toHaveLength(3);
  forker.ready(3);
  forker.workers[2]?.process.exit(1);
  await nextTurn();
  jest.advanceTimersByTime(199);
  expect(forker.workers).toHaveLength(3);
  jest.advanceTimersByTime(1);
  expect(forker.workers).toHaveLength(4);
  expect(workers.restarts).toBe(2);
});

test('a replacement that dies before listening is retried', async () => {
  const { forker } = await started();
  forker.workers[0]?.process.exit(1);
  await nextTurn();
  jest.advanceTimersByTime(100);
  expect(forker.workers).toHaveLength(3);
  forker.workers[2]?.process.exit(1);
  await nextTurn();
  jest.advanceTimersByTime(200);
  expect(forker.workers).toHaveLength(4);
});

test('reload replaces workers one at a time: each new one listens before the old one is told to stop', async () => {
  const { workers, forker, exits } = await started();
  forker.events.length = 0;
  const reloaded = workers.reload();
  await forker.forked(3);
  forker.ready(3);
  const oldFirst = await forker.workers[0]?.process.received('stop');
  // closeGrace (1000 ms by default) bounds how long it may hold a close whose replies are on their way.
  expect(oldFirst).toEqual({ type: 'stop', code: 1012, reason: 'server reloading', holdMs: 1000 });
  forker.workers[0]?.process.exit(0);
  await forker.forked(4);
  forker.ready(4);
  await forker.workers[1]?.process.received('stop');
  forker.workers[1]?.process.exit(0);
  await reloaded;
  expect(forker.events).toEqual(['fork 3', 'ready 3', 'stop 1', 'exit 1', 'fork 4', 'ready 4', 'stop 2', 'exit 2']);
  expect(exits.map((e) => [e.workerId, e.expected])).toEqual([
    [1, true],
    [2, true],
  ]);
  expect(workers.restarts).toBe(0);
  expect(workers.workerStats().map((w) => w.id)).toEqual([3, 4]);
});

test('status reports feed stats; the routing counters of an exited worker stay in the totals', async () => {
  const { workers, forker } = await started();
  forker.workers[0]?.process.reply({ type: 'status', clients: { chat: 3 }, held: { chat: 2 }, routing: ROUTING, links: {} });
  forker.workers[1]?.process.reply({ type: 'status', clients: { chat: 1, echo: 4 }, held: {}, routing: ROUTING, links: {} });
  expect(workers.clientsOf('chat')).toBe(4);
  expect(workers.held()).toEqual(new Map([['chat', 2]]));
  expect(workers.workerStats().map((w) => w.clients)).toEqual([3, 5]);
  expect(workers.routing()).toEqual({ foreignAddressDrops: 2, goneClientDrops: 4, serviceQueueFull: 6, linkQueueFull: 8, requestsRefused: 10 });
  forker.workers[0]?.process.exit(null, 'SIGKILL');
  await nextTurn();
  expect(workers.clientsOf('chat')).toBe(1);
  expect(workers.routing()).toEqual({ foreignAddressDrops: 2, goneClientDrops: 4, serviceQueueFull: 6, linkQueueFull: 8, requestsRefused: 10 });
});

test('queries and metrics replies are handed to the hooks with the worker that sent them', async () => {
  const { forker, queries, metrics } = await started();
  forker.workers[1]?.process.reply({ type: 'query', qid: 7, what: 'metrics' }, { type: 'metrics', qid: 3, metrics: [] });
  expect(queries).toEqual([{ workerId: 2, qid: 7, what: 'metrics' }]);
  expect(metrics).toEqual([{ qid: 3, metrics: [] }]);
});

test('stop(): every worker is told to close its clients with 1001, a stuck one is SIGKILLed, nothing is replaced', async () => {
  const { workers, forker, exits } = await started();
  // Worker 1 crashed just before: its pending replacement must not be forked.
  forker.workers[0]?.process.exit(1);
  await nextTurn();
  const stopped = workers.stop(Date.now() + 2000);
  expect(await forker.workers[1]?.process.received('stop')).toEqual({ type: 'stop', code: 1001, reason: 'server shutting down', holdMs: 1000 });
  jest.advanceTimersByTime(2000);
  await stopped;
  expect(forker.workers[1]?.process.signals).toEqual(['SIGKILL']);
  expect(exits.at(-1)).toMatchObject({ workerId: 2, expected: true });
  jest.advanceTimersByTime(60_000);
  expect(forker.workers).toHaveLength(2);
});

test('a stopping worker may hold its closes for closeGrace, but never past half the time to its deadline', async () => {
  const { workers, forker } = await started({ closeGrace: 5000 });
  const stopped = workers.stop(Date.now() + 600);
  expect(await forker.workers[0]?.process.received('stop')).toEqual({ type: 'stop', code: 1001, reason: 'server shutting down', holdMs: 300 });
  for (const worker of forker.workers) worker.process.exit(0);
  await stopped;
});

import { healthReport } from '../../src/master/health';
import { PingClock, pingInterval, serviceLiveness, type Liveness, type WorkerLinkView } from '../../src/master/liveness';
import type { ServerStats } from '../../src/master/stats';

const TIMEOUT = 1000;
const T0 = 1_000_000;

function judge(overrides: { lastPong?: number; workers?: readonly WorkerLinkView[] }, now: number): Liveness {
  return serviceLiveness({ onlineSince: T0, lastPong: overrides.lastPong, workers: overrides.workers ?? [] }, now, TIMEOUT);
}

const up = (waitingSince?: number): WorkerLinkView => ({ worker: 1, readySince: T0, link: { up: true, since: T0, ...(waitingSince === undefined ? {} : { waitingSince }) } });

describe('serviceLiveness', () => {
  test('live within the deadline from coming online, before any pong', () => {
    expect(judge({}, T0 + TIMEOUT)).toEqual({ live: true });
  });

  test('no pong for longer than the deadline: not live, and the reason says ping', () => {
    const verdict = judge({ lastPong: T0 + 100 }, T0 + 100 + TIMEOUT + 1);
    expect(verdict.live).toBe(false);
    expect(verdict.live === false && verdict.reason).toMatch(/no ping for 1001 ms/);
    expect(judge({ lastPong: T0 + 100 }, T0 + 100 + TIMEOUT)).toEqual({ live: true });
  });

  test('events waiting with no acknowledgement past the deadline: not live, the reason says acknowledgement and names the worker', () => {
    const now = T0 + 5000;
    const verdict = judge({ lastPong: now - 10, workers: [up(now - TIMEOUT - 1)] }, now);
    expect(verdict.live === false && verdict.reason).toMatch(/waited 1001 ms at worker 1 with no acknowledgement/);
    expect(judge({ lastPong: now - 10, workers: [up(now - TIMEOUT)] }, now)).toEqual({ live: true });
    expect(judge({ lastPong: now - 10, workers: [up()] }, now)).toEqual({ live: true });
  });

  test('a link not up past the deadline, counted from the later of its change and the instance coming online', () => {
    const down: WorkerLinkView = { worker: 2, readySince: T0, link: { up: false, since: T0 - 60_000 } };
    // The instance came online at T0: the link has had until T0 + TIMEOUT to connect to it.
    expect(judge({ lastPong: T0 + TIMEOUT, workers: [down] }, T0 + TIMEOUT)).toEqual({ live: true });
    const verdict = judge({ lastPong: T0 + TIMEOUT, workers: [down] }, T0 + TIMEOUT + 1);
    expect(verdict.live === false && verdict.reason).toMatch(/worker 2's link to it has not been up for 1001 ms/);
  });

  test('a ready worker that reported no link is given the deadline from when it became ready', () => {
    const silent: WorkerLinkView = { worker: 3, readySince: T0 + 500, link: undefined };
    expect(judge({ lastPong: T0 + 1500, workers: [silent] }, T0 + 1500)).toEqual({ live: true });
    const verdict = judge({ lastPong: T0 + 1501, workers: [silent] }, T0 + 1501);
    expect(verdict.live === false && verdict.reason).toMatch(/worker 3 has reported no link/);
  });

  test('the ping interval is a quarter of the deadline', () => {
    expect(pingInterval(5000)).toBe(1250);
    expect(pingInterval(1000)).toBe(250);
  });

  test('a new instance starts the clock afresh: the last one\'s pong does not count', () => {
    const clock = new PingClock();
    clock.restart();
    clock.answered();
    expect(clock.lastAnswer).toBeDefined();
    clock.restart();
    expect(clock.lastAnswer).toBeUndefined();
    expect(clock.onlineSince).toBeGreaterThan(0);
  });
});

describe('healthReport', () => {
  const stats: ServerStats = {
    state: 'listening',
    clients: 0,
    workerRestarts: 0,
    workers: [{ id: 1, pid: 11, ready: true, clients: 0, uptimeMs: 5, ipcQueueDepth: 0, ipcDropped: 0 }],
    remoteServices: [],
    services: [
      { name: 'echo', instance: 0, pid: 21, state: 'online', restarts: 0, uptimeMs: 5, heldMessages: 0, ipcQueueDepth: 0, ipcDropped: 0 },
      { name: 'chat', instance: 0, pid: 22, state: 'online', restarts: 0, uptimeMs: 5, heldMessages: 0, ipcQueueDepth: 0, ipcDropped: 0 },
    ],
    routing: { foreignAddressDrops: 0, goneClientDrops: 0, serviceQueueFull: 0, linkQueueFull: 0, requestsRefused: 0 },
  };
  const links = new Map<string, readonly WorkerLinkView[]>([
    ['echo', [{ worker: 1, readySince: 0, link: { up: true, since: 0 } }]],
    ['chat', [{ worker: 1, readySince: 0, link: { up: false, since: 0 } }]],
  ]);

  test('processes up and every service live: healthy and ready', () => {
    const live = new Map<string, Liveness>([['echo', { live: true }], ['chat', { live: true }]]);
    const report = healthReport({ stats, expectedWorkers: 1, uptimeMs: 5, liveness: live, links });
    expect(report).toMatchObject({ healthy: true, ready: true, body: { status: 'ok' } });
  });

  test('a service not live: still healthy (processes up), not ready; the body names it, why, and the worker whose link is down', () => {
    const liveness = new Map<string, Liveness>([['echo', { live: true }], ['chat', { live: false, reason: "worker 1's link to it has not been up" }]]);
    const report = healthReport({ stats, expectedWorkers: 1, uptimeMs: 5, liveness, links });
    expect(report.healthy).toBe(true);
    expect(report.ready).toBe(false);
    const body = report.body as { status: string; processes: Array<Record<string, unknown>> };
    expect(body.status).toBe('degraded');
    expect(body.processes.find((p) => p.name === 'chat')).toMatchObject({ live: false, reason: "worker 1's link to it has not been up" });
    expect(body.processes.find((p) => p.name === 'echo')).toMatchObject({ live: true });
    expect(body.processes.find((p) => p.kind === 'service' && p.name === 'echo')).not.toHaveProperty('reason');
    expect(body.processes.find((p) => p.kind === 'worker')).toMatchObject({ id: 1, linksDown: ['chat'] });
  });

  test('a worker missing: neither healthy nor ready', () => {
    const live = new Map<string, Liveness>([['echo', { live: true }], ['chat', { live: true }]]);
    expect(healthReport({ stats, expectedWorkers: 2, uptimeMs: 5, liveness: live, links })).toMatchObject({ healthy: false, ready: false });
  });
});

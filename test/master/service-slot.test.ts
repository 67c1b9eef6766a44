import { CHILD_CONFIG_ENV } from '../../src/child-env';
import { SERVICE_ENTRY } from '../../src/master/entry-points';
import { linkSecret } from '../../src/link-secret';
import { ServiceSlot } from '../../src/master/service-slot';
import { createLogger } from '../../src/logger';
import { resolveOptions, type SwitchyardOptions } from '../../src/options';
import { isSwitchyardError } from '../../src/errors';
import { FakeServiceForker, nextTurn, type FakeProcess } from './fake-process';

const log = createLogger('silent', 'master');

interface Recorded {
  readonly online: Array<{ restarted: boolean; pid: number | undefined; endpoint: string }>;
  readonly exits: Array<{ expected: boolean; instance: string; signal: string | null }>;
  readonly failed: string[];
}

function slot(options: SwitchyardOptions = {}) {
  const forker = new FakeServiceForker();
  const recorded: Recorded = { online: [], exits: [], failed: [] };
  const service = new ServiceSlot(
    'chat',
    '/srv/chat.js',
    () => '/tmp/switchyard-test-sockets',
    0,
    0,
    1,
    resolveOptions({ restartDelay: 100, maxRestartDelay: 1000, startTimeout: 5000, stopTimeout: 2000, ...options }),
    log,
    {
      onMetrics: () => undefined,
      onOnline: (_slot, pid, restarted, endpoint) => recorded.online.push({ restarted, pid, endpoint }),
      onExit: (_slot, exit, expected, instance) => recorded.exits.push({ expected, instance, signal: exit.signal }),
      onFailed: (failed) => recorded.failed.push(failed.name),
      liveWorkers: () => [1, 2],
    },
    forker.fork,
  );
  return { service, forker, recorded };
}

/** Starts the slot and lets its first process report that it runs. */
async function started(options: SwitchyardOptions = {}) {
  const setup = slot(options);
  const running = setup.service.start();
  (await setup.forker.forked(1)).reply({ type: 'started' });
  await running;
  return setup;
}

/** The process crashes; resolves once the slot has handled its exit. */
async function crash(process: FakeProcess): Promise<void> {
  process.exit(1);
  await nextTurn();
}

beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
afterEach(() => jest.useRealTimers());

test('start() forks the service entry and resolves once the service reports it runs', async () => {
  const { service, forker, recorded } = slot();
  expect(service.state).toBe('idle');
  const running = service.start();
  expect(service.state).toBe('starting');
  expect(forker.processes).toHaveLength(1);
  expect(service.endpoint).toBeUndefined();
  forker.last.reply({ type: 'started' });
  await running;
  expect(service.state).toBe('online');
  expect(service.instance).toBe('service-chat.1');
  expect(service.pid).toBe(forker.last.pid);
  expect(service.endpoint).toMatch(/^\/tmp\/switchyard-test-sockets\/0\.1\.sock$/);
  expect(recorded.online).toEqual([{ restarted: false, pid: forker.last.pid, endpoint: service.endpoint }]);
  expect(service.deliver({ type: 'metricsRequest', qid: 1 })).toBe(true);
  expect(await forker.last.received('metricsRequest')).toEqual({ type: 'metricsRequest', qid: 1 });
  expect(forker.calls[0]?.modulePath).toBe(SERVICE_ENTRY);
  const config = JSON.parse(forker.calls[0]?.options.env?.[CHILD_CONFIG_ENV] as string) as Record<string, unknown>;
  expect(config).toMatchObject({ role: 'service', name: 'chat', modulePath: '/srv/chat.js', endpoint: service.endpoint });
});

test('a failing onStart rejects start() with SY_ERR_SERVICE_START_FAILED and kills the process', async () => {
  const { service, forker } = slot();
  const running = service.start();
  forker.last.reply({ type: 'startFailed', error: { message: 'no database' } });
  const error: unknown = await running.catch((e: unknown) => e);
  expect(isSwitchyardError(error) && error.code).toBe('SY_ERR_SERVICE_START_FAILED');
  expect(forker.last.signals).toEqual(['SIGKILL']);
});

test('an exit during startup rejects start(); nothing restarts it', async () => {
  const { service, forker } = slot();
  const running = service.start();
  forker.last.exit(3);
  const error: unknown = await running.catch((e: unknown) => e);
  expect(isSwitchyardError(error) && error.code).toBe('SY_ERR_SERVICE_START_FAILED');
  expect(service.state).toBe('stopped');
  jest.advanceTimersByTime(60_000);
  expect(forker.processes).toHaveLength(1);
});

test('a crash restarts the service after the backoff delay, doubling while it keeps crashing', async () => {
  const { service, forker, recorded } = await started();
  await crash(forker.last);
  expect(service.state).toBe('restarting');
  expect(service.restarts).toBe(1);
  expect(service.deliver({ type: 'metricsRequest', qid: 1 })).toBe(false);
  expect(recorded.exits).toEqual([{ expected: false, instance: 'service-chat.1', signal: null }]);
  jest.advanceTimersByTime(99);
  expect(forker.processes).toHaveLength(1);
  jest.advanceTimersByTime(1);
  expect(forker.processes).toHaveLength(2);
  forker.last.reply({ type: 'started' });
  expect(service.state).toBe('online');
  expect(recorded.online.at(-1)?.restarted).toBe(true);
  // A new endpoint per instance: a link never reaches a stale one.
  expect(recorded.online[1]?.endpoint).not.toBe(recorded.online[0]?.endpoint);

  await crash(forker.last);
  jest.advanceTimersByTime(199);
  expect(forker.processes).toHaveLength(2);
  jest.advanceTimersByTime(1);
  expect(forker.processes).toHaveLength(3);
  expect(service.restarts).toBe(2);
  expect(service.instance).toBe('service-chat.3');
});

test('crash-loop rule: crashLoopCount crashes within crashLoopWindow leave the service failed, until a reload revives it', async () => {
  const { service, forker, recorded } = await started({ crashLoopCount: 3, crashLoopWindow: 60_000, restartDelay: 10, maxRestartDelay: 10 });
  for (let i = 0; i < 2; i++) {
    await crash(forker.last);
    jest.advanceTimersByTime(10);
    forker.last.reply({ type: 'started' });
  }
  expect(forker.processes).toHaveLength(3);
  await crash(forker.last);
  expect(service.state).toBe('failed');
  expect(recorded.failed).toEqual(['chat']);
  jest.advanceTimersByTime(10 * 60_000);
  expect(forker.processes).toHaveLength(3);
  expect(service.endpoint).toBeUndefined();

  // Reload: a fresh start, with the crash count reset.
  const revived = service.reload(Date.now() + 2000);
  expect(forker.processes).toHaveLength(4);
  forker.last.reply({ type: 'started' });
  await revived;
  expect(service.state).toBe('online');
  await crash(forker.last);
  expect(service.state).toBe('restarting');
});

test('crashes a worker reports as a quarantined event\'s leave the crash-loop window, whether the report comes after the exit or before it', async () => {
  const { service, forker, recorded } = await started({ crashLoopCount: 3, crashLoopWindow: 60_000, restartDelay: 10, maxRestartDelay: 10 });
  // Poison 1: two crashes; the report comes after the second exit.
  await crash(forker.last);
  jest.advanceTimersByTime(10);
  forker.last.reply({ type: 'started' });
  const second = service.endpoint as string;
  await crash(forker.last);
  service.forgiveCrashes(second, 2);
  jest.advanceTimersByTime(10);
  forker.last.reply({ type: 'started' });
  // Poison 2: two crashes; the report outruns the second exit.
  await crash(forker.last);
  jest.advanceTimersByTime(10);
  forker.last.reply({ type: 'started' });
  service.forgiveCrashes(service.endpoint as string, 2);
  await crash(forker.last);
  jest.advanceTimersByTime(10);
  forker.last.reply({ type: 'started' });
  expect(recorded.failed).toEqual([]);
  expect(service.state).toBe('online');
  // Crashes not tied to an event still count: three more fail the service.
  for (let i = 0; i < 2; i++) {
    await crash(forker.last);
    jest.advanceTimersByTime(10);
    forker.last.reply({ type: 'started' });
  }
  expect(recorded.failed).toEqual([]);
  await crash(forker.last);
  expect(recorded.failed).toEqual(['chat']);
});

test('crashes spread wider than crashLoopWindow never trip the crash-loop rule', async () => {
  const { service, forker, recorded } = await started({ crashLoopCount: 2, crashLoopWindow: 1000, restartDelay: 10, maxRestartDelay: 10 });
  for (let i = 0; i < 4; i++) {
    jest.advanceTimersByTime(1000);
    await crash(forker.last);
    jest.advanceTimersByTime(10);
    forker.last.reply({ type: 'started' });
  }
  expect(recorded.failed).toEqual([]);
  expect(service.state).toBe('online');
  expect(service.restarts).toBe(4);
});

test('a restarted instance that does not start within startTimeout is killed, and counts as a crash', async () => {
  const { service, forker, recorded } = await started({ startTimeout: 3000 });
  await crash(forker.last);
  jest.advanceTimersByTime(100);
  const hung = forker.last;
  jest.advanceTimersByTime(2999);
  expect(hung.signals).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(hung.signals).toEqual(['SIGKILL']);
  await nextTurn();
  expect(recorded.exits.at(-1)).toEqual({ expected: false, instance: 'service-chat.2', signal: 'SIGKILL' });
  expect(service.restarts).toBe(2);
  jest.advanceTimersByTime(200);
  expect(forker.processes).toHaveLength(3);
});

test('reload: the new instance starts first, next to the old one; then the old one retires and the new one takes over', async () => {
  const { service, forker, recorded } = await started();
  const old = forker.last;
  const reloaded = service.reload(Date.now() + 2000);
  // The new one is forked at once; the old one serves on, untouched, until it runs.
  expect(forker.processes).toHaveLength(2);
  const fresh = forker.last;
  expect(service.state).toBe('online');
  expect(service.pid).toBe(old.pid);
  expect(old.sent.filter((message) => message.type === 'stop')).toEqual([]);
  fresh.reply({ type: 'started' });
  expect(await old.received('stop')).toEqual({ type: 'stop', mode: 'retire' });
  expect(service.state).toBe('restarting');
  expect(recorded.online).toHaveLength(1);
  old.exit(0);
  await reloaded;
  expect(service.state).toBe('online');
  expect(service.pid).toBe(fresh.pid);
  expect(recorded.exits).toEqual([{ expected: true, instance: 'service-chat.1', signal: null }]);
  expect(recorded.online.map((o) => o.restarted)).toEqual([false, true]);
  expect(recorded.online[1]?.endpoint).toBe(service.endpoint);
  expect(recorded.online[1]?.endpoint).not.toBe(recorded.online[0]?.endpoint);
  expect(service.restarts).toBe(0);
});

test('reload: a new instance that fails to start is killed, the reload rejects, and the old one serves on untouched', async () => {
  const { service, forker, recorded } = await started();
  const old = forker.last;
  const reloaded = service.reload(Date.now() + 2000);
  forker.last.reply({ type: 'startFailed', error: { message: 'syntax error in chat.js' } });
  const error = await reloaded.then(() => undefined, (reason: unknown) => reason);
  expect(isSwitchyardError(error, 'SY_ERR_SERVICE_START_FAILED')).toBe(true);
  expect((error as Error).message).toMatch(/"chat".*syntax error in chat\.js/);
  expect(forker.last.signals).toEqual(['SIGKILL']);
  await nextTurn();
  expect(recorded.exits).toEqual([{ expected: true, instance: 'service-chat.2', signal: 'SIGKILL' }]);
  expect(old.sent.filter((message) => message.type === 'stop')).toEqual([]);
  expect(service).toMatchObject({ state: 'online', pid: old.pid, restarts: 0 });
  expect(recorded.online).toHaveLength(1);
  // Nothing restarts the failed one; the next reload tries again.
  jest.advanceTimersByTime(60_000);
  expect(forker.processes).toHaveLength(2);
  const again = service.reload(Date.now() + 2000);
  expect(forker.processes).toHaveLength(3);
  forker.last.reply({ type: 'started' });
  old.exit(0);
  await again;
  expect(service.pid).toBe(forker.last.pid);
});

test('reload: a new instance that is not ready within startTimeout, or exits while starting, fails the reload', async () => {
  const { service, forker } = await started({ startTimeout: 1000 });
  const old = forker.last;
  const hung = service.reload(Date.now() + 2000);
  jest.advanceTimersByTime(1000);
  const timedOut = await hung.then(() => undefined, (reason: unknown) => reason);
  expect(isSwitchyardError(timedOut, 'SY_ERR_SERVICE_START_FAILED')).toBe(true);
  expect((timedOut as Error).message).toMatch(/did not start within startTimeout \(1000 ms\)/);
  expect(forker.last.signals).toEqual(['SIGKILL']);
  await nextTurn();
  const exiting = service.reload(Date.now() + 2000);
  forker.last.exit(1);
  const exited = await exiting.then(() => undefined, (reason: unknown) => reason);
  expect((exited as Error).message).toMatch(/exited during startup \(code 1/);
  expect(service).toMatchObject({ state: 'online', pid: old.pid });
});

test('reload: when the old instance crashes while the new one starts, the new one takes over as soon as it runs', async () => {
  const { service, forker, recorded } = await started({ restartDelay: 1000 });
  const reloaded = service.reload(Date.now() + 2000);
  const fresh = forker.last;
  await crash(forker.processes[0] as FakeProcess);
  expect(service.state).toBe('restarting');
  fresh.reply({ type: 'started' });
  await reloaded;
  expect(service).toMatchObject({ state: 'online', pid: fresh.pid });
  // The backoff's restart was cancelled: the new instance replaced it.
  jest.advanceTimersByTime(10_000);
  expect(forker.processes).toHaveLength(2);
  expect(recorded.online.map((o) => o.restarted)).toEqual([false, true]);
});

test('stop() during a reload stops the new instance too, and the reload resolves', async () => {
  const { service, forker } = await started();
  const reloaded = service.reload(Date.now() + 2000);
  const old = forker.processes[0] as FakeProcess;
  const fresh = forker.last;
  const stopped = service.stop(Date.now() + 1000);
  await reloaded;
  expect(await fresh.received('stop')).toEqual({ type: 'stop', mode: 'shutdown' });
  expect(await old.received('stop')).toEqual({ type: 'stop', mode: 'shutdown' });
  old.exit(0);
  fresh.exit(0);
  await stopped;
  expect(service.state).toBe('stopped');
  expect(fresh.signals).toEqual([]);
});

test('stop(): the service is asked to shut down, and SIGKILLed at the deadline if it hangs', async () => {
  const { service, forker, recorded } = slot();
  forker.stuck = true;
  const running = service.start();
  forker.last.reply({ type: 'started' });
  await running;
  const stopped = service.stop(Date.now() + 2000);
  expect(service.state).toBe('stopping');
  expect(await forker.last.received('stop')).toEqual({ type: 'stop', mode: 'shutdown' });
  jest.advanceTimersByTime(2000);
  await stopped;
  expect(service.state).toBe('stopped');
  expect(forker.last.signals).toEqual(['SIGKILL']);
  expect(recorded.exits).toEqual([{ expected: true, instance: 'service-chat.1', signal: 'SIGKILL' }]);
});

test('stop() during a restart delay cancels the restart', async () => {
  const { service, forker } = await started();
  await crash(forker.last);
  await service.stop(Date.now() + 1000);
  jest.advanceTimersByTime(60_000);
  expect(forker.processes).toHaveLength(1);
  expect(service.state).toBe('stopped');
});

describe('link secrets', () => {
  /** The key a forked instance heard first, over IPC. */
  async function keyOf(process: FakeProcess): Promise<string> {
    const first = await process.received('linkKey');
    expect(process.sent[0]).toBe(first);
    return first.key as string;
  }

  test('each instance gets, first of all and over IPC only, a random key of its own and the live workers; the workers get secrets derived from it', async () => {
    const { service, forker } = await started();
    const first = forker.last;
    const key = await keyOf(first);
    expect(first.sent[0]).toEqual({ type: 'linkKey', key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), workers: [1, 2] });
    // Never in the environment, which the same user can read in /proc/<pid>/environ.
    expect(JSON.stringify(forker.calls[0]?.options.env)).not.toContain(key);
    expect(service.linkSecret(1)).toBe(linkSecret(key, 1));
    expect(service.linkSecret(2)).not.toBe(service.linkSecret(1));
    const reloaded = service.reload(Date.now() + 2000);
    const fresh = forker.last;
    const freshKey = await keyOf(fresh);
    expect(freshKey).not.toBe(key);
    // The running instance's secrets until the new one takes over.
    expect(service.linkSecret(1)).toBe(linkSecret(key, 1));
    fresh.reply({ type: 'started' });
    await first.received('stop');
    first.exit(0);
    await reloaded;
    expect(service.linkSecret(1)).toBe(linkSecret(freshKey, 1));
  });

  test('workers forked and exited are admitted and revoked on every live instance, a reload candidate included', async () => {
    const { service, forker } = await started();
    const running = forker.last;
    void service.reload(Date.now() + 2000);
    const candidate = forker.last;
    service.linkKeys.admit(3);
    service.linkKeys.revoke(1);
    for (const instance of [running, candidate]) {
      await instance.received('revokeWorker');
      expect(instance.sent.filter((m) => m.type === 'admitWorker' || m.type === 'revokeWorker')).toEqual([
        { type: 'admitWorker', worker: 3 },
        { type: 'revokeWorker', worker: 1 },
      ]);
    }
  });

  test('no secret while no instance runs', () => {
    const { service } = slot();
    expect(service.linkSecret(1)).toBeUndefined();
  });
});

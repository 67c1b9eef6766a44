import { ClientLanes } from '../../src/services/client-lanes';
import { expectNothingWithin } from '../helpers/expect-nothing';

/**
 * Lanes whose hooks record into `events`; `idle()` resolves at the next idle
 * report, `overdue()` at the next `expired` or `late` report.
 */
function lanes(): { lanes: ClientLanes; events: string[]; errors: unknown[]; idle: () => Promise<void>; overdue: () => Promise<string> } {
  const events: string[] = [];
  const errors: unknown[] = [];
  let idleWaiters: Array<() => void> = [];
  let overdueWaiters: Array<(event: string) => void> = [];
  const overdue = (event: string): void => {
    events.push(event);
    const waiters = overdueWaiters;
    overdueWaiters = [];
    for (const resolve of waiters) resolve(event);
  };
  const result = new ClientLanes({
    failed: (id, error) => {
      errors.push(error);
      events.push(`failed ${id}`);
    },
    settled: (worker, seq) => void events.push(`settled ${worker}:${seq}`),
    idle: () => {
      events.push('idle');
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    },
    expired: (id) => overdue(`expired ${id}`),
    late: (id, outcome) => overdue(`late ${id} ${outcome}`),
  });
  return {
    lanes: result,
    events,
    errors,
    idle: () => new Promise<void>((resolve) => idleWaiters.push(resolve)),
    overdue: () => new Promise<string>((resolve) => overdueWaiters.push(resolve)),
  };
}

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('the tasks of one lane run in order, each waiting for the previous one to settle', async () => {
  const { lanes: l, events, idle } = lanes();
  const first = deferred();
  l.open('a');
  l.run('a', () => {
    events.push('a1 start');
    return first.promise.then(() => void events.push('a1 end'));
  });
  l.run('a', () => void events.push('a2'), () => void events.push('after a2'));
  l.run('a', async () => void events.push('a3'));
  l.run('a', () => void events.push('a4'));
  expect(events).toEqual(['a1 start']);
  expect(l.idle).toBe(false);
  const idled = idle();
  first.resolve();
  await idled;
  expect(events).toEqual(['a1 start', 'a1 end', 'a2', 'after a2', 'a3', 'a4', 'idle']);
  expect(l.idle).toBe(true);
});

test('lanes run concurrently: a pending task holds only its own lane', async () => {
  const { lanes: l, events, idle } = lanes();
  const slow = deferred();
  l.open('a');
  l.open('b');
  l.run('a', () => slow.promise);
  l.run('a', () => void events.push('a2'));
  l.run('b', () => void events.push('b1'));
  l.run('b', async () => void events.push('b2'));
  l.run('b', () => void events.push('b3'));
  // b's async task settles on a later microtask; a stays held all along.
  await Promise.resolve();
  await Promise.resolve();
  await Promise.resolve();
  expect(events).toEqual(['b1', 'b2', 'b3']);
  const idled = idle();
  slow.resolve();
  await idled;
  // The idle report waits for the last busy lane, not the first one that frees.
  expect(events).toEqual(['b1', 'b2', 'b3', 'a2', 'idle']);
});

test('a task that throws or rejects is reported, its after runs, and the lane goes on', async () => {
  const { lanes: l, events, errors, idle } = lanes();
  const sync = new Error('sync');
  const async = new Error('async');
  l.open('a');
  l.run('a', () => {
    throw sync;
  }, () => void events.push('after throw'));
  l.run('a', () => Promise.reject(async), () => void events.push('after reject'));
  l.run('a', () => void events.push('next'));
  const idled = idle();
  await idled;
  expect(events).toEqual(['after throw', 'failed a', 'after reject', 'failed a', 'next', 'idle']);
  expect(errors).toEqual([sync, async]);
});

test('a task that never settles holds its lane and idleness forever, and nothing else', async () => {
  const { lanes: l, events, idle } = lanes();
  l.open('stuck');
  l.open('free');
  l.run('stuck', () => new Promise<void>(() => undefined));
  l.run('stuck', () => void events.push('behind the stuck one'));
  l.run('free', async () => void events.push('free 1'));
  l.run('free', () => void events.push('free 2'));
  const ran = new Promise<void>((resolve) => l.run('free', () => resolve()));
  await ran;
  expect(events).toEqual(['free 1', 'free 2']);
  await expectNothingWithin(50, idle(), 'an idle report');
  expect(events).toEqual(['free 1', 'free 2']);
  expect(l.idle).toBe(false);
});

test('call: on a free lane a sync handler runs and settles before call returns; on a busy lane it waits its turn', async () => {
  const { lanes: l, events, idle } = lanes();
  const target = {
    name: 'target',
    handle(this: { name: string }, a: string, b: number, c: boolean): void {
      events.push(`${this.name} ${a} ${b} ${c}`);
    },
  };
  l.open('a');
  l.call('a', target, target.handle, 'x', 1, true, 3, 10);
  expect(events).toEqual(['target x 1 true', 'settled 3:10']);
  events.length = 0;
  const slow = deferred();
  l.run('a', () => slow.promise);
  l.call('a', target, target.handle, 'y', 2, false, 3, 11);
  expect(events).toEqual([]);
  const idled = idle();
  slow.resolve();
  await idled;
  expect(events).toEqual(['target y 2 false', 'settled 3:11', 'idle']);
});

test('call: an async handler holds the lane until it settles; a throwing or rejecting one is reported, then settled', async () => {
  const { lanes: l, events, idle } = lanes();
  const pending = deferred();
  const target = {
    handle(mode: string, _b: undefined, _c: undefined): Promise<void> | void {
      events.push(`handle ${mode}`);
      if (mode === 'throw') throw new Error('sync');
      if (mode === 'reject') return Promise.reject(new Error('async'));
      if (mode === 'wait') return pending.promise;
    },
  };
  l.open('a');
  l.call('a', target, target.handle, 'wait', undefined, undefined, 1, 1);
  l.call('a', target, target.handle, 'throw', undefined, undefined, 1, 2);
  expect(events).toEqual(['handle wait']);
  const idled = idle();
  pending.resolve();
  await idled;
  // The queued call settles as its task ends, then the error is reported: both before the next task.
  expect(events).toEqual(['handle wait', 'settled 1:1', 'handle throw', 'settled 1:2', 'failed a', 'idle']);
  events.length = 0;
  const again = idle();
  l.call('a', target, target.handle, 'reject', undefined, undefined, 1, 3);
  await again;
  expect(events).toEqual(['handle reject', 'failed a', 'settled 1:3', 'idle']);
  events.length = 0;
  l.call('a', target, target.handle, 'throw', undefined, undefined, 1, 4);
  expect(events).toEqual(['handle throw', 'failed a', 'settled 1:4']);
});

test('a client without a lane runs nothing; a deleted lane finishes its running task; open keeps a lane that is still there', async () => {
  const { lanes: l, events, idle } = lanes();
  l.run('none', () => void events.push('ran'));
  l.call('none', null, () => void events.push('called'), 1, 2, 3, 1, 1);
  expect(events).toEqual([]);
  expect(l.has('none')).toBe(false);
  const closing = deferred();
  l.open('a');
  l.run('a', () => closing.promise.then(() => void events.push('close done')));
  // A connect for the same id while its close still runs: open is a no-op and the connect waits behind the close.
  l.open('a');
  l.run('a', () => void events.push('connect again'));
  const idled = idle();
  closing.resolve();
  await idled;
  expect(events).toEqual(['close done', 'connect again', 'idle']);
  events.length = 0;
  const running = deferred();
  l.run('a', () => running.promise.then(() => void events.push('running done')));
  l.delete('a');
  expect(l.has('a')).toBe(false);
  l.run('a', () => void events.push('after delete'));
  const deleted = idle();
  running.resolve();
  await deleted;
  expect(events).toEqual(['running done', 'idle']);
});

test('a task run with a timeout holds its lane at most that long: then its after runs, the lane goes on, and its late settlement is only reported', async () => {
  const { lanes: l, events, overdue } = lanes();
  const hung = deferred();
  l.open('a');
  l.run('a', () => hung.promise, () => void events.push('after hung'), 30);
  l.run('a', () => void events.push('behind the hung one'), () => void events.push('after behind'));
  expect(events).toEqual([]);
  const moved = new Promise<void>((resolve) => l.run('a', () => resolve()));
  await moved;
  expect(events).toEqual(['expired a', 'after hung', 'behind the hung one', 'after behind', 'idle']);
  events.length = 0;
  const late = overdue();
  hung.resolve();
  expect(await late).toBe('late a resolved');
  // Nothing of the task runs again: its after (the ack) came at the timeout.
  expect(events).toEqual(['late a resolved']);
});

test('a timed-out task no longer keeps the lanes busy, so a stop waiting for idle goes on', async () => {
  const { lanes: l, events, idle, overdue } = lanes();
  const hung = deferred();
  l.open('a');
  l.run('a', () => hung.promise, undefined, 30);
  expect(l.idle).toBe(false);
  await idle();
  expect(l.idle).toBe(true);
  expect(events).toEqual(['expired a', 'idle']);
  const late = overdue();
  hung.reject(new Error('too late'));
  // A late rejection is not a failure of the lane's task: reported as late only.
  expect(await late).toBe('late a rejected');
  expect(events).toEqual(['expired a', 'idle', 'late a rejected']);
});

test('a task that settles within its timeout is not reported expired or late, and its rejection is a failure as usual', async () => {
  const { lanes: l, events, errors, idle, overdue } = lanes();
  const quick = deferred();
  const reported = overdue();
  l.open('a');
  l.run('a', () => quick.promise, () => void events.push('after quick'), 100);
  const broken = new Error('broken');
  l.run('a', () => Promise.reject(broken), () => void events.push('after broken'), 100);
  const idled = idle();
  quick.resolve();
  await idled;
  expect(events).toEqual(['after quick', 'after broken', 'failed a', 'idle']);
  expect(errors).toEqual([broken]);
  // Past both timeouts: their timers were cleared, so nothing is reported.
  await expectNothingWithin(200, reported, 'an expired or late report');
});

test('an idle lane holds no lane object: one is made while a task is pending and dropped once the lane is free again, order kept', async () => {
  const { lanes: l, events, idle } = lanes();
  // Private: what an open, idle client costs is what the test is about.
  const stateOf = (id: string): unknown => (l as unknown as { lanes: Map<string, unknown> }).lanes.get(id);
  l.open('a');
  expect(stateOf('a')).toBeNull();
  l.run('a', () => void events.push('sync'));
  expect(stateOf('a')).toBeNull();
  let release: () => void = () => undefined;
  l.run('a', () => new Promise<void>((resolve) => (release = resolve)).then(() => void events.push('first')));
  l.run('a', () => void events.push('second'));
  expect(stateOf('a')).toMatchObject({ busy: true, backlog: [expect.any(Function)] });
  const wentIdle = idle();
  release();
  await wentIdle;
  expect(events).toEqual(['sync', 'first', 'second', 'idle']);
  expect(stateOf('a')).toBeNull();
  expect(l.has('a')).toBe(true);
  l.delete('a');
  expect(l.has('a')).toBe(false);
});
